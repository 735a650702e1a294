"""The overview and the experiment pages' counts are cached; every change to what they show
must show at once."""

from unittest.mock import patch

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments.models import PolicyRule, Scenario
from sites import cache
from sites.models import Site
from sites.updates import record_capabilities

from ..factories.exceptions import grant
from ..factories.sites import make_site
from ..helpers import day
from ..sites.test_import import CRIC, run


@pytest.fixture
def two_cms_sites(reference):
    make_site("CH-ISOLATED", serves=("cms",), container_runtime="apptainer")
    return make_site("CH-BARE", serves=("cms",), container_runtime="none")


def cms_card(client) -> dict:
    """The CMS card's figures per compliance class, as the page shows them."""
    response = client.get("/")
    summary = next(summary for summary, _chart in response.context["cards"]
                   if summary.experiment.slug == "cms")
    return {figure.label: figure.count for figure in summary.compliance}


def test_the_overview_is_served_from_the_cache_the_second_time(
        client, two_cms_sites, django_assert_num_queries):
    client.get("/")
    # Nothing at all: the menu's experiments and whether the illustrative-data banner shows
    # are cached too.
    with django_assert_num_queries(0):
        client.get("/")


def test_a_reported_capability_shows_at_once(client, two_cms_sites):
    assert cms_card(client)["Non-compliant"] == 1
    record_capabilities(two_cms_sites, {"container_runtime": "singularity"})
    assert cms_card(client)["Non-compliant"] == 0
    assert cms_card(client)["Target"] == 2


def test_a_granted_exception_shows_at_once(client, two_cms_sites):
    assert cms_card(client)["Interim"] == 0
    grant(two_cms_sites, day(0), day(30), reason="Deploying")
    assert cms_card(client)["Interim"] == 1


def test_a_policy_change_shows_once_recomputed(client, two_cms_sites,
                                               django_capture_on_commit_callbacks):
    assert cms_card(client)["Non-compliant"] == 1
    rule = PolicyRule.objects.get(experiment__slug="cms", position=2)
    with django_capture_on_commit_callbacks(execute=True):
        rule.scenario = Scenario.objects.get(slug="production-only")
        rule.save()
    assert cms_card(client)["Non-compliant"] == 0
    assert cms_card(client)["Acceptable"] == 1


def test_a_deleted_site_and_a_renamed_scenario_show_at_once(
        client, two_cms_sites, django_capture_on_commit_callbacks):
    client.get("/")
    with django_capture_on_commit_callbacks(execute=True):
        Site.objects.filter(name="CH-ISOLATED").delete()
    assert cms_card(client)["Target"] == 0
    Scenario.objects.filter(slug="not-isolated").update(short_name="Open")  # no signal
    Scenario.objects.get(slug="not-isolated").save()
    assert "Open" in client.get("/").content.decode()


def test_the_overview_works_without_its_cache(client, two_cms_sites, settings):
    # Redis down: the setting's change resets Django's cache handlers to this one.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens
    response = client.get("/")
    assert response.status_code == 200
    assert cms_card(client)["Non-compliant"] == 1


def cms_page_figures(client) -> tuple[dict, dict]:
    """The CMS page's figures per compliance class, and the sites each rule decided."""
    context = client.get("/experiments/cms/").context
    return ({figure.label: figure.count for figure in context["summary"].compliance},
            {rule.position: decided for rule, _conditions, decided in context["rules"]})


def test_the_experiment_page_counts_are_served_from_the_cache_the_second_time(
        client, two_cms_sites):
    client.get("/experiments/cms/")
    with CaptureQueriesContext(connection) as first:
        client.get("/experiments/cms/")
    Site.objects.get(name="CH-BARE").save()  # any write: counted afresh
    with CaptureQueriesContext(connection) as afresh:
        client.get("/experiments/cms/")
    assert len(afresh) > len(first)


def test_the_experiment_page_shows_a_reported_capability_at_once(client, two_cms_sites):
    figures, decided = cms_page_figures(client)
    assert (figures["Non-compliant"], figures["Target"]) == (1, 1)
    assert sum(decided.values()) == 2

    record_capabilities(two_cms_sites, {"container_runtime": "singularity"})

    figures, decided_after = cms_page_figures(client)
    assert (figures["Non-compliant"], figures["Target"]) == (0, 2)
    assert decided_after != decided and sum(decided_after.values()) == 2


def test_a_sites_new_country_is_offered_by_the_sites_filter_at_once(client, two_cms_sites):
    def offered() -> list[str]:
        form = client.get("/sites/").context["filter"].form
        return [value for value, _label in form.fields["country"].choices]

    assert "Japan" not in offered()
    site = Site.objects.get(name="CH-BARE")
    site.country = "Japan"
    site.save()
    assert "Japan" in offered()


def test_every_page_serves_when_the_cache_cannot_be_reached(client, settings, two_cms_sites):
    # A Redis that refuses every connection: the pages build what they would have cached.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    for url in ("/", "/sites/", "/sites/CH-BARE/", "/experiments/cms/", "/api/summary/"):
        assert client.get(url).status_code == 200, url
    assert cms_card(client)["Non-compliant"] == 1


def test_an_import_shows_at_once_and_moves_the_cache_version_once(client, two_cms_sites):
    unknown = cms_card(client)["Unknown"]

    with patch("sites.cache.write", wraps=cache.write) as write:
        run("import_cric", CRIC / "base.json")

    # Hundreds of rows and their history written, the cached pages invalidated once.
    assert [call.args[0] for call in write.call_args_list].count(cache.VERSION_KEY) == 1
    # The CMS sites the import brought (none has reported yet) show on the overview.
    assert cms_card(client)["Unknown"] > unknown
