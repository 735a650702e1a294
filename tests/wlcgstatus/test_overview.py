"""The overview: each experiment's card with its compliance shares, and every figure on it a
link to the sites table listing exactly that many sites, even after a site stopped serving the
experiment or was retired."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django.utils.html import escape

from experiments.models import Compliance, Experiment
from sites.models import Assessment, ExperimentSite
from wlcgstatus.summary import summarise, whole_percents

from ..factories.exceptions import grant
from ..factories.sites import make_site
from ..helpers import day, get_ok, listed, soup


def card(response, slug: str) -> str:
    """The overview's card of one experiment, as HTML."""
    return str(soup(response).find("section", class_="card", id=slug))


def test_overview_shows_each_experiment_with_its_compliance_shares(client, demo):
    response = get_ok(client, "/")
    content = response.content.decode()

    serving = Assessment.objects.values("site").distinct().count()  # any experiment
    assert f"at the {serving} sites" in content
    for experiment in Experiment.objects.all():
        section = card(response, experiment.slug)
        assert f">{experiment.name}</a></h2>" in section
        assessments = Assessment.objects.filter(experiment=experiment)
        total = assessments.count()
        assert total > 0
        assert f"{total} sites</a>" in section
        shown = []
        for compliance in Compliance:
            n = assessments.of_compliance(compliance).count()
            share = re.search(rf"<strong>(\d+)%</strong><span>{compliance.label}</span>"
                              rf"<small>{n} sites?</small>", section)
            if compliance == Compliance.UNKNOWN and not n:
                assert f"<span>{compliance.label}</span>" not in section  # only where there are
                continue
            assert share, (experiment.slug, compliance)
            # Whole percents, each within a point of the exact share.
            assert abs(int(share.group(1)) - 100 * n / total) < 1, (experiment.slug, compliance)
            shown.append(int(share.group(1)))
        assert sum(shown) == 100, experiment.slug  # largest remainder: they add up


def test_every_overview_figure_opens_the_sites_table_listing_that_many_sites(client, demo):
    content = get_ok(client, "/").content.decode()
    figures = []
    for summary in summarise(timezone.localdate()):
        figures.append((summary.url, summary.total))
        # Shown only where they count something: Unknown, stale sites, standing exceptions.
        shown = [*summary.scenarios,
                 *(f for f in summary.compliance if f.key != "unknown" or f.count),
                 *(f for f in summary.exceptions if f.key != "standing" or summary.standing),
                 *([summary.stale] if summary.stale.count else [])]
        figures += [(f.url, f.count) for f in shown]
    assert any(count for url, count in figures if "exception=" in url)  # not all zero
    assert any(count for url, count in figures if "stale=" in url)

    for url, count in figures:
        assert f'href="{escape(url)}"' in content, url
        response = get_ok(client, url)
        assert response.context["table"].paginator.count == count, url


def test_an_exception_figure_and_its_table_agree_when_a_site_stopped_serving_the_experiment(
        client, reference, django_capture_on_commit_callbacks):
    kept = make_site("KEPT", serves=("cms",), container_runtime="none")
    left = make_site("LEFT", serves=("cms", "atlas"), container_runtime="none")
    grant(kept, day(-10), day(60))
    grant(left, day(-10), day(60))
    with django_capture_on_commit_callbacks(execute=True):
        ExperimentSite.objects.filter(site=left, experiment__slug="cms").delete()

    (cms,) = summarise(timezone.localdate(), [Experiment.objects.get(slug="cms")])
    active = next(f for f in cms.exceptions if "exception=active" in f.url)
    assert listed(client, active.url.split("?", 1)[1]) == ["KEPT"]
    assert active.count == 1


def test_an_exception_figure_and_its_table_agree_when_a_site_is_retired(
        client, reference, django_capture_on_commit_callbacks):
    kept = make_site("KEPT", serves=("cms",), container_runtime="none")
    retired = make_site("RETIRED", serves=("cms",), container_runtime="none")
    grant(kept, day(-10), day(20))
    grant(retired, day(-10), day(20))
    with django_capture_on_commit_callbacks(execute=True):
        retired.retired_on = timezone.localdate()
        retired.save()

    (cms,) = summarise(timezone.localdate(), [Experiment.objects.get(slug="cms")])
    for state in ("active", "expiring"):
        figure = next(f for f in cms.exceptions if f"exception={state}" in f.url)
        assert listed(client, figure.url.split("?", 1)[1]) == ["KEPT"], state
        assert figure.count == 1, state
    page = get_ok(client, "/experiments/cms/").context
    assert [exception.site.name for exception in page["exceptions"]] == ["KEPT"]
    assert [record.name for record in page["table"].data] == ["KEPT"]
    api = client.get("/api/exceptions/", HTTP_ACCEPT="application/json").json()
    assert [exception["site"] for exception in api["results"]] == ["KEPT"]


@pytest.mark.parametrize(("counts", "shares"), [
    ([173, 27], [87, 13]),  # each rounded half up on its own: 87 % + 14 % = 101 %
    ([1, 1, 1], [34, 33, 33]),  # each rounded on its own: 99 %
    ([1, 1, 1, 1, 1, 1, 1], [15, 15, 14, 14, 14, 14, 14]),
    ([2, 1], [67, 33]),
    ([0, 0], [0, 0]),
])
def test_shares_are_whole_percents_that_add_up_to_100(counts, shares):
    assert whole_percents(counts) == shares
