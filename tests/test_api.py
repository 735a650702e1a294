"""The JSON API (/api/) and the site API tokens that write through it.

Schemathesis checks every endpoint's answers against the served schema; the rest drives the API
as a client would: the sites list filters as the sites table does, pages, costs the same number
of queries at 20 and at 100 sites, and a site's capabilities are written with a token of that
site only, checked as the capability form checks them, recorded with history and recomputed.
The token page (create, show once, list, revoke) is driven as a contact would drive it.

Personas: Alice (contact of SITE-A), Bob (contact of SITE-B), Wendy (a WG member)."""

from __future__ import annotations

import datetime
import html
import json
import re
import zlib
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.db import close_old_connections, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from experiments.models import (
    CapabilityDefinition,
    ExceptionKind,
    Experiment,
    Migration,
    Scenario,
)
from sites.models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Federation,
    Site,
    SiteException,
    SiteMigration,
)
from sites.recompute import recompute
from wlcgstatus.models import SiteToken
from wlcgstatus.summary import summarise
from wlcgstatus.wsgi import application

from .factories import PASSWORD, make_site

LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"


# --- data and people -----------------------------------------------------------------------------

def signed_in(user, **kwargs) -> Client:
    browser = Client(**kwargs)
    browser.force_login(user)
    return browser


@pytest.fixture
def key_a(contact_a, site_a) -> str:
    return SiteToken.issue(site_a, "probe on ce01", contact_a)[1]


@pytest.fixture
def key_b(contact_b, site_b) -> str:
    return SiteToken.issue(site_b, "probe", contact_b)[1]


@pytest.fixture
def api_data(site_a, site_b, contact_a):
    """A few more sites of every sort, an exception, migration states, reported values."""
    make_site("SITE-C", kind="hpc", serves=("atlas", "lhcb"), container_runtime="apptainer",
              container_runtime_version="1.3.4", unprivileged_userns="yes", cvmfs="yes",
              outbound_network="yes")
    make_site("SITE-D", serves=("alice",))
    make_site("SITE-E.CLOUD", kind="cloud", serves=("lhcb", "cms"), cvmfs="no")
    Site.objects.filter(name="SITE-C").update(tier=1, country="Germany")
    today = timezone.localdate()
    kind = ExceptionKind.objects.get(experiment__slug="cms")
    SiteException.objects.create(site=site_a, experiment=kind.experiment, kind=kind,
                                 reason="Deploying Apptainer", granted_by="the WG",
                                 granted_on=today - datetime.timedelta(days=10),
                                 expires_on=today + datetime.timedelta(days=20))
    SiteException.objects.create(site=site_b, experiment=kind.experiment, kind=kind,
                                 reason="Was deploying", granted_by="the WG",
                                 granted_on=today - datetime.timedelta(days=100),
                                 expires_on=today - datetime.timedelta(days=1))
    for migration in Migration.objects.all():
        step = migration.steps.first()
        SiteMigration.objects.create(site=site_a, migration=migration, completed_step=step)
        SiteMigration.objects.create(site=site_b, migration=migration)
    SiteToken.issue(site_a, "probe", contact_a)


def get_json(client: Client, url: str, data: dict | None = None, status: int = 200):
    response = client.get(url, data or {}, HTTP_ACCEPT="application/json")
    assert response.status_code == status, f"{url} {data} -> {response.status_code}: " \
                                           f"{response.content[:500]}"
    return response.json()


def api_names(client: Client, query: dict | None = None) -> list[str]:
    page = get_json(client, "/api/sites/", {**(query or {}), "page_size": 500})
    assert page["next"] is None
    return [site["name"] for site in page["results"]]


def table_names(client: Client, query: dict | None = None) -> list[str]:
    response = client.get(f"/sites/?{urlencode(query or {}, True)}")
    assert response.status_code == 200
    return [record.name for record in response.context["table"].data]


def post_values(key: str | None, site: str, body, client: Client | None = None):
    headers = {"Authorization": f"Token {key}"} if key else {}
    return (client or Client()).post(
        f"/api/sites/{site}/capabilities/",
        data=json.dumps(body) if not isinstance(body, str) else body,
        content_type="application/json", headers=headers)


def stored(site: Site) -> dict[str, tuple]:
    return {v.capability.key: (v.value, v.source, v.reported_by_id, v.reported_at)
            for v in CapabilityValue.objects.filter(site=site).select_related("capability")}


def history_count() -> int:
    return CapabilityValue.history.count()


# --- 1. every answer matches the schema (schemathesis) -----------------------------------------

@pytest.fixture
def served_whole(db):
    """The WSGI app closes the test's connection at each request's start and end unless told not
    to: the test client does the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(api_data, served_whole):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE],
                                    allow_x00=False)
    real = {
        "/api/sites/{name}/": ("name", sorted(Site.objects.values_list("name", flat=True))),
        "/api/sites/{name}/capabilities/": ("name", ["SITE-A"]),
        "/api/experiments/{slug}/": ("slug", sorted(Experiment.objects.values_list("slug",
                                                                                   flat=True))),
        "/api/scenarios/{slug}/": ("slug", sorted(Scenario.objects.values_list("slug",
                                                                               flat=True))),
    }

    @schema.hook
    def map_path_parameters(context, path_parameters):
        # Writes go to Site A, whose token the write test holds. Two reads in three name a
        # real site, experiment or scenario; the rest whatever the schema allows (404).
        key, options = real.get(context.operation.path, (None, []))
        if path_parameters and key in path_parameters:
            generated = zlib.crc32(str(path_parameters[key]).encode(errors="surrogatepass"))
            if context.operation.method.upper() == "POST" or generated % 3:
                path_parameters[key] = options[generated % len(options)]
        return path_parameters

    return schema


api = schemathesis.pytest.from_fixture("api_schema")


@api.parametrize()
@settings(deadline=None, max_examples=40, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_schema(case):
    case.call_and_validate()


writes = schemathesis.pytest.from_fixture("api_schema").include(method="POST")


@writes.parametrize()
@settings(deadline=None, max_examples=40, suppress_health_check=list(HealthCheck))
def test_every_answer_to_a_write_with_a_token_matches_the_schema(case, key_a):
    """With Site A's token: values the schema allows may still break the form's rules (a
    runtime's version needs a runtime), so a 400 is a fair answer here, but it must match the
    schema as a 200 must."""
    response = case.call_and_validate(headers={"Authorization": f"Token {key_a}"},
                                      excluded_checks=[positive_data_acceptance])
    assert response.status_code in (200, 400, 403)
    if response.status_code == 400 and "values" in response.json():
        assert set(response.json()["values"]) <= set(
            CapabilityDefinition.objects.values_list("key", flat=True))


def test_schema_lists_the_capability_filters_and_the_reportable_capabilities(client, reference):
    schema = get_json(client, "/api/schema/", {"format": "json"})
    sites = {p["name"]: p for p in schema["paths"]["/api/sites/"]["get"]["parameters"]}
    for definition in CapabilityDefinition.objects.all():
        assert f"cap_{definition.key}" in sites
    assert {"q", "experiment", "scenario", "compliance", "exception", "tier", "country", "kind",
            "stale", "updated_since", "page", "page_size"} <= set(sites)
    assert sites["experiment"]["schema"]["enum"] == list(
        Experiment.objects.values_list("slug", flat=True))
    report = schema["components"]["schemas"]["CapabilityReportRequest"]
    values = report["properties"]["values"]
    assert set(values["properties"]) == set(CapabilityDefinition.objects.values_list("key",
                                                                                     flat=True))
    assert values["properties"]["container_runtime"]["enum"] == ["none", "singularity",
                                                                 "apptainer", ""]
    assert values["additionalProperties"] is False
    operation = schema["paths"]["/api/sites/{name}/capabilities/"]["post"]
    assert operation["security"] == [{"siteToken": []}]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])


def test_docs_page_loads_nothing_from_another_host(client, reference):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert addresses, "the docs page loads its scripts and styles"
    for address in addresses:
        assert not urlsplit(address).netloc, address
        if address.startswith("/static/"):  # shipped with the code, served from here
            assert finders.find(address.removeprefix("/static/")), address
    assert "validatorUrl" in page and '"validatorUrl": null' in page
    assert not re.search(r"https?://(?!localhost|testserver)", page.replace("http://www.w3.org",
                                                                            ""))


# --- 2. reading ----------------------------------------------------------------------------------

FILTERS = [
    {},
    {"experiment": "cms"},
    {"experiment": "cms", "scenario": "not-isolated"},
    {"compliance": "target"},
    {"experiment": "atlas", "compliance": "non_compliant"},
    {"exception": "active"},
    {"exception": "expiring"},
    {"exception": "lapsed"},
    {"experiment": "cms", "exception": "active"},
    {"tier": ["1"]},
    {"tier": ["0", "2"]},
    {"country": "Germany"},
    {"kind": "hpc"},
    {"q": "DE"},
    {"q": "T1_"},
    {"cap_container_runtime": "apptainer"},
    {"cap_container_runtime": "(not reported)"},
    {"cap_container_runtime_version": "3.8"},
    {"cap_cvmfs": "no"},
    {"cap_outbound_network": "yes", "experiment": "atlas"},
    {"stale": "365"},
    {"updated_since": "2026-01-01"},
]


def test_sites_list_filters_give_the_same_sites_as_the_sites_table(client, demo):
    retired = Site.objects.filter(experiment_sites__experiment__slug="cms").first()
    Site.objects.filter(pk=retired.pk).update(retired_on=timezone.localdate())
    assert retired.name not in api_names(client)
    assert get_json(client, f"/api/sites/{retired.name}/")["retired_on"]
    found = []
    for query in FILTERS:
        table = table_names(client, query)
        listed = api_names(client, query)
        assert listed == list(Site.objects.filter(name__in=table).order_by("name")
                              .values_list("name", flat=True)), query
        assert len(listed) == len(table), query
        found.append(len(listed))
    assert sum(1 for n in found if 0 < n < found[0]) >= len(FILTERS) - 3, found


def test_sites_list_refuses_a_filter_value_the_table_refuses(client, reference):
    errors = get_json(client, "/api/sites/", {"experiment": "nope", "tier": "7"}, status=400)
    assert set(errors) == {"experiment", "tier"}


def test_site_detail_shows_names_values_with_who_and_when_and_assessments(client, api_data,
                                                                          site_a, contact_a):
    value = CapabilityValue.objects.get(site=site_a, capability__key="cvmfs")
    value.reported_by = contact_a
    value.save()
    site = get_json(client, "/api/sites/SITE-A/")

    assert site["name"] == "SITE-A"
    assert site["page"] == "http://testserver/sites/SITE-A/"
    assert site["experiments"] == ["atlas", "cms"] or site["experiments"] == ["cms", "atlas"]
    assert {(n["experiment"], n["name"]) for n in site["experiment_names"]} == {
        ("cms", "CMS_SITE-A"), ("atlas", "ATLAS_SITE-A")}
    values = {v["capability"]: v for v in site["capabilities"]}
    assert values["cvmfs"]["value"] == "yes"
    assert values["cvmfs"]["reported_by"] == "Alice Able"
    assert values["cvmfs"]["reported_at"] == value.reported_at.isoformat().replace("+00:00", "Z")
    assert values["container_runtime"]["reported_by"] is None
    stored_assessments = {a.experiment.slug: a for a in
                          Assessment.objects.filter(site=site_a).select_related(
                              "experiment", "scenario", "exception")}
    assert {a["experiment"] for a in site["assessments"]} == set(stored_assessments)
    for shown in site["assessments"]:
        assessment = stored_assessments[shown["experiment"]]
        assert shown["scenario"] == (assessment.scenario.slug if assessment.scenario else None)
        assert shown["reason"] == assessment.reason
    cms = next(a for a in site["assessments"] if a["experiment"] == "cms")
    assert cms["exception"]["kind"] == "singularity-transition"  # the active exception decides
    assert get_json(client, "/api/sites/NOWHERE/", status=404)["detail"]


def test_site_names_with_dots_are_found(client, api_data):
    assert get_json(client, "/api/sites/SITE-E.CLOUD/")["kind"] == "cloud"


def test_experiments_show_their_rules_and_conditions(client, reference):
    cms = get_json(client, "/api/experiments/cms/")
    experiment = Experiment.objects.get(slug="cms")
    rules = list(experiment.rules.order_by("position").prefetch_related("conditions"))
    assert [r["position"] for r in cms["rules"]] == [r.position for r in rules]
    for shown, rule in zip(cms["rules"], rules, strict=True):
        assert shown["scenario"] == rule.scenario.slug
        assert [(c["capability"], c["operator"], c["value"]) for c in shown["conditions"]] == [
            (c.capability.key, c.operator, c.value) for c in rule.conditions.order_by("id")]
    assert [k["slug"] for k in cms["exception_kinds"]] == ["singularity-transition"]
    listed = get_json(client, "/api/experiments/")
    assert [e["slug"] for e in listed["results"]] == list(
        Experiment.objects.values_list("slug", flat=True))


def test_scenarios_are_listed_in_the_wg_order(client, reference):
    listed = get_json(client, "/api/scenarios/")
    assert [s["slug"] for s in listed["results"]] == list(
        Scenario.objects.values_list("slug", flat=True))
    one = get_json(client, f"/api/scenarios/{listed['results'][0]['slug']}/")
    assert one == listed["results"][0]


def test_assessments_filter_by_site_experiment_scenario_and_compliance(client, api_data):
    every = get_json(client, "/api/assessments/", {"page_size": 500})["results"]
    assert len(every) == Assessment.objects.count()
    assert every == sorted(every, key=lambda a: (a["site"], Experiment.objects.get(
        slug=a["experiment"]).position))
    for query, expected in [
        ({"site": "SITE-A"}, Assessment.objects.filter(site__name="SITE-A")),
        ({"experiment": "cms"}, Assessment.objects.filter(experiment__slug="cms")),
        ({"scenario": "not-isolated"}, Assessment.objects.filter(scenario__slug="not-isolated")),
        ({"compliance": "target"}, Assessment.objects.filter(scenario__compliance="target")),
        ({"site": "SITE-B", "experiment": "cms"},
         Assessment.objects.filter(site__name="SITE-B", experiment__slug="cms")),
    ]:
        shown = get_json(client, "/api/assessments/", query)["results"]
        assert {(a["site"], a["experiment"]) for a in shown} == {
            (a.site.name, a.experiment.slug) for a in expected}, query
        assert expected.exists() or query.get("compliance"), query


def test_exceptions_filter_by_site_experiment_and_activity(client, api_data):
    every = get_json(client, "/api/exceptions/")["results"]
    assert [(e["site"], e["active"]) for e in every] == [("SITE-A", True), ("SITE-B", False)]
    assert [e["site"] for e in get_json(client, "/api/exceptions/",
                                        {"active": "true"})["results"]] == ["SITE-A"]
    assert [e["site"] for e in get_json(client, "/api/exceptions/",
                                        {"active": "false"})["results"]] == ["SITE-B"]
    assert [e["site"] for e in get_json(client, "/api/exceptions/",
                                        {"site": "SITE-B"})["results"]] == ["SITE-B"]
    assert get_json(client, "/api/exceptions/", {"experiment": "alice"})["results"] == []
    assert every[0]["scenario"] == ExceptionKind.objects.get(
        experiment__slug="cms").scenario.slug


def test_migrations_show_each_steps_progress(client, api_data):
    listed = get_json(client, "/api/migrations/")["results"]
    assert len(listed) == Migration.objects.count()
    for migration in listed:
        assert migration["sites"] == 2
        first, *rest = migration["steps"]
        assert (first["position"], first["sites_done"], first["share"]) == (1, 1, 50.0)
        assert all(step["sites_done"] == 0 for step in rest)
    alice = get_json(client, "/api/migrations/", {"experiment": "alice"})["results"]
    assert [m["slug"] for m in alice] == ["alien-to-jalien"]
    assert alice[0]["steps"][0]["target_date"] == "2021-12-31"
    assert alice[0]["steps"][0]["overdue"] is True


def test_summary_gives_the_overview_figures_and_links_to_their_sites(client, demo):
    today = timezone.localdate()
    expected = {s.experiment.slug: s for s in summarise(today)}
    shown = get_json(client, "/api/summary/")["results"]
    assert [s["experiment"] for s in shown] == list(expected)
    for summary in shown:
        figures = expected[summary["experiment"]]
        assert summary["total"] == figures.total
        assert [(f["key"], f["count"]) for f in summary["scenarios"]] == [
            (f.key, f.count) for f in figures.scenarios]
        assert [(f["key"], f["count"]) for f in summary["compliance"]] == [
            (f.key, f.count) for f in figures.compliance]
        assert [(f["key"], f["count"]) for f in summary["exceptions"]] == [
            (f.key, f.count) for f in figures.exceptions]
        for figure in summary["scenarios"] + summary["compliance"] + summary["exceptions"]:
            link = urlsplit(figure["sites"])
            assert link.path == "/api/sites/"
            assert client.get(f"{link.path}?{link.query}").json()["count"] == figure["count"]


def test_lists_come_fifty_to_a_page_and_page_size_asks_for_more_up_to_500(client, reference):
    Site.objects.bulk_create(Site(name=f"BULK-{n:04}") for n in range(501))
    first = get_json(client, "/api/sites/")
    assert (first["count"], len(first["results"])) == (501, 50)
    assert first["previous"] is None
    second = get_json(client, first["next"].replace("http://testserver", ""))
    assert second["results"][0]["name"] == "BULK-0050"
    assert get_json(client, "/api/sites/", {"page_size": 10, "page": 3})["results"][0][
        "name"] == "BULK-0020"
    assert len(get_json(client, "/api/sites/", {"page_size": 1000})["results"]) == 500
    last = get_json(client, "/api/sites/", {"page": 11})
    assert [s["name"] for s in last["results"]] == ["BULK-0500"] and last["next"] is None
    assert get_json(client, "/api/sites/", {"page": 12}, status=404)["detail"]


# --- 3. query counts do not grow with the number of rows ---------------------------------------

def add_sites(count: int, start: int) -> None:
    """Sites with names for two experiments, reported values, a federation, an exception and
    migration states, made in bulk and then assessed."""
    experiments = {e.slug: e for e in Experiment.objects.all()}
    definitions = {d.key: d for d in CapabilityDefinition.objects.all()}
    kind = ExceptionKind.objects.get(experiment__slug="cms")
    migration = Migration.objects.get(slug="alien-to-jalien")
    federation, _ = Federation.objects.get_or_create(name="FED")
    today = timezone.localdate()
    sites = Site.objects.bulk_create(Site(name=f"MANY-{start + n:04}", tier=n % 4)
                                     for n in range(count))
    ExperimentSite.objects.bulk_create(
        ExperimentSite(site=site, experiment=experiments[slug], name=f"{slug}-{site.name}")
        for site in sites for slug in ("cms", "alice"))
    CapabilityValue.objects.bulk_create(
        CapabilityValue(site=site, capability=definitions[key], value=value)
        for n, site in enumerate(sites)
        for key, value in [("container_runtime", ["none", "apptainer"][n % 2]),
                           ("cvmfs", "yes")])
    SiteException.objects.bulk_create(
        SiteException(site=site, experiment=kind.experiment, kind=kind, reason="r",
                      granted_by="WG", granted_on=today, expires_on=today
                      + datetime.timedelta(days=5)) for site in sites)
    SiteMigration.objects.bulk_create(
        SiteMigration(site=site, migration=migration, completed_step=migration.steps.first())
        for site in sites)
    Site.federations.through.objects.bulk_create(
        Site.federations.through(site=site, federation=federation) for site in sites)
    recompute(sites=[site.pk for site in sites])


LISTS = [
    ("/api/sites/", {}),
    ("/api/sites/", {"experiment": "cms", "cap_cvmfs": "yes", "tier": ["1", "2"]}),
    ("/api/assessments/", {}),
    ("/api/exceptions/", {"active": "true"}),
    ("/api/migrations/", {}),
    ("/api/summary/", {}),
    ("/api/experiments/", {}),
    ("/api/scenarios/", {}),
]


def test_list_queries_do_not_grow_with_the_number_of_sites(client, reference):
    def queries() -> dict[str, int]:
        counts = {}
        for url, query in LISTS:
            with CaptureQueriesContext(connection) as captured:
                get_json(client, url, {**query, "page_size": 500})
            counts[f"{url} {query}"] = len(captured)
        return counts

    add_sites(20, 0)
    at_20 = queries()
    add_sites(80, 20)
    assert get_json(client, "/api/sites/", {"page_size": 500})["count"] == 100
    assert queries() == at_20


# --- 4. writing a site's capabilities with its token -------------------------------------------

def test_a_good_write_stores_the_values_recomputes_and_shows_in_the_history(
        key_a, site_a, contact_a):
    cms_before = Assessment.objects.get(site=site_a, experiment__slug="cms").scenario
    history_before = history_count()
    started = timezone.now()

    response = post_values(key_a, "SITE-A", {"values": {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4"}})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["site"] == "SITE-A"
    assert sorted(body["changed"]) == ["container_runtime", "container_runtime_version"]
    values = {v.capability.key: v for v in CapabilityValue.objects.filter(site=site_a)
              .select_related("capability")}
    for key, value in [("container_runtime", "apptainer"), ("container_runtime_version",
                                                           "1.3.4")]:
        assert values[key].value == value
        assert values[key].source == CapabilityValue.Source.API
        assert values[key].reported_by == contact_a
        assert values[key].reported_at >= started
    assert values["cvmfs"].reported_at < started  # not sent: not touched
    assert {v["capability"]: v["value"] for v in body["capabilities"]} == {
        key: v.value for key, v in values.items()}
    cms_after = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert cms_after.scenario != cms_before
    assert cms_after.computed_at >= started
    assert AssessmentChange.objects.filter(site=site_a, experiment__slug="cms",
                                           old_scenario=cms_before,
                                           new_scenario=cms_after.scenario).exists()
    shown = {a["experiment"]: a for a in body["assessments"]}
    assert shown["cms"]["scenario"] == cms_after.scenario.slug
    assert shown["cms"]["reason"] == cms_after.reason
    assert history_count() == history_before + 2
    record = CapabilityValue.history.filter(site_id=site_a.pk,
                                            capability__key="container_runtime").first()
    assert (record.value, record.history_user) == ("apptainer", contact_a)
    page = Client().get("/sites/SITE-A/").content.decode()
    history = page[page.index("Change history"):]
    assert "apptainer" in history and "Alice Able" in history
    assert SiteToken.objects.get().last_used_at >= started


def test_the_probe_reports_as_the_probe_and_an_empty_value_withdraws_one(key_b, site_b):
    response = post_values(key_b, "SITE-B", {"values": {"container_runtime": "apptainer",
                                                        "container_runtime_version": "1.3.4",
                                                        "cvmfs": ""},
                                             "reporter": "probe"})

    assert response.status_code == 200, response.content
    values = stored(site_b)
    assert "cvmfs" not in values
    assert values["container_runtime"][:2] == ("apptainer", "probe")
    assert values["container_runtime_version"][:2] == ("1.3.4", "probe")
    assert "cvmfs" in response.json()["changed"]


def test_a_value_sent_unchanged_is_confirmed(key_a, site_a):
    before = stored(site_a)["cvmfs"]
    response = post_values(key_a, "SITE-A", {"values": {"cvmfs": "yes"}})
    assert response.status_code == 200
    assert response.json()["changed"] == []
    after = stored(site_a)["cvmfs"]
    assert after[0] == "yes" and after[1] == "api" and after[3] > before[3]


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"container_runtime": "docker", "cvmfs": "no"}, "container_runtime",
     "“docker” is not one of none, singularity, apptainer."),
    ({"cvmfs": "maybe"}, "cvmfs", "“maybe” is not yes or no."),
    ({"cvmfs": "Yes"}, "cvmfs", "Yes is not one of the available choices"),  # as the form
    ({"container_runtime": "apptainer", "container_runtime_version": "latest"},
     "container_runtime_version", "“latest” is not a version number"),
    ({"container_runtime_version": "1.3.4"}, "container_runtime_version",
     "Container runtime version needs a container runtime"),
    ({"docker": "yes", "cvmfs": "no"}, "docker", "“docker” is not a capability"),
    ({"cvmfs": True}, "cvmfs", "Not a valid string."),
    ({"cvmfs": "x" * 101}, "cvmfs", "no more than 100 characters"),
])
def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_stored(
        key_a, site_a, values, field, message):
    before, history_before = stored(site_a), history_count()
    assessments = list(Assessment.objects.filter(site=site_a).values())

    response = post_values(key_a, "SITE-A", {"values": values})

    assert response.status_code == 400, response.content
    errors = response.json()["values"]
    assert field in errors
    assert any(message in error for error in errors[field]), errors
    assert stored(site_a) == before
    assert history_count() == history_before
    assert list(Assessment.objects.filter(site=site_a).values()) == assessments


def test_withdrawing_the_runtime_while_a_version_is_kept_is_refused(key_b, site_b):
    before = stored(site_b)
    response = post_values(key_b, "SITE-B", {"values": {"container_runtime": "none"}})
    assert response.status_code == 400
    assert "container_runtime_version" in response.json()["values"]
    assert stored(site_b) == before
    # Withdrawing both at once is fine.
    response = post_values(key_b, "SITE-B", {"values": {"container_runtime": "none",
                                                        "container_runtime_version": ""}})
    assert response.status_code == 200
    assert "container_runtime_version" not in stored(site_b)


@pytest.mark.parametrize("body", [
    {},
    {"values": {}},
    {"values": "apptainer"},
    {"values": {"cvmfs": "yes"}, "reporter": "form"},
    "not json",
])
def test_a_malformed_report_is_refused(key_a, site_a, body):
    before = stored(site_a)
    response = post_values(key_a, "SITE-A", body)
    assert response.status_code == 400
    assert stored(site_a) == before


def test_a_token_of_site_a_cannot_write_site_b(key_a, site_a, site_b, contact_b):
    before, history_before = stored(site_b), history_count()
    response = post_values(key_a, "SITE-B", {"values": {"container_runtime": "none"}})
    assert response.status_code == 403
    assert "SITE-A" in response.json()["detail"]
    assert post_values(key_a, "NOWHERE", {"values": {"cvmfs": "no"}}).status_code == 403
    assert stored(site_b) == before
    assert history_count() == history_before


def test_without_a_valid_token_nothing_is_written(key_a, site_a, contact_a):
    before = stored(site_a)
    body = {"values": {"cvmfs": "no"}}

    no_token = post_values(None, "SITE-A", body)
    assert no_token.status_code == 401
    assert no_token["WWW-Authenticate"] == "Token"
    assert post_values("wlcg_made-up", "SITE-A", body).status_code == 401
    assert post_values(key_a[:-1], "SITE-A", body).status_code == 401
    bad_header = Client().post("/api/sites/SITE-A/capabilities/", json.dumps(body),
                               content_type="application/json",
                               headers={"Authorization": f"Token {key_a} extra"})
    assert bad_header.status_code == 401
    # A signed-in contact's session is not a token.
    assert post_values(None, "SITE-A", body, client=signed_in(contact_a)).status_code == 401
    SiteToken.objects.get().revoke()
    revoked = post_values(key_a, "SITE-A", body)
    assert revoked.status_code == 401
    assert stored(site_a) == before


def test_a_token_stops_working_when_its_maker_may_no_longer_edit_the_site(
        key_a, site_a, contact_a):
    site_a.contacts.remove(contact_a)
    response = post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}})
    assert response.status_code == 403
    assert "alice" in response.json()["detail"]
    contact_a.is_active = False
    contact_a.save()
    assert post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 401


def test_when_the_dashboard_requires_a_sign_in_so_do_reads_but_tokens_still_write(
        settings, key_a, site_a, contact_a):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        LOGIN_REQUIRED)
    settings.MIDDLEWARE = middleware
    settings.READ_REQUIRES_LOGIN = True
    anonymous = Client()

    for url in ("/api/", "/api/sites/", "/api/sites/SITE-A/", "/api/summary/",
                "/api/schema/", "/api/docs/"):
        assert anonymous.get(url).status_code in (401, 403), url
    assert signed_in(contact_a).get("/api/sites/SITE-A/").status_code == 200
    response = post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}})
    assert response.status_code == 200
    assert stored(site_a)["cvmfs"][0] == "no"


# --- 5. the token page ---------------------------------------------------------------------------

def tokens_url(site: Site | str) -> str:
    return f"/sites/{getattr(site, 'name', site)}/tokens/"


def shown_key(response) -> str | None:
    match = re.search(r'<code class="token-key">([^<]+)</code>', response.content.decode())
    return html.unescape(match.group(1)) if match else None


def test_a_contact_creates_a_token_sees_it_once_and_it_works(contact_a, site_a):
    alice = signed_in(contact_a)
    assert tokens_url(site_a) in alice.get("/sites/SITE-A/").content.decode()

    created = alice.post(tokens_url(site_a), {"name": "probe on ce01"})

    assert created.status_code == 200
    assert created["Cache-Control"].startswith("max-age=0")
    assert "no-store" in created["Cache-Control"]
    key = shown_key(created)
    assert key and key.startswith("wlcg_")
    token = SiteToken.objects.get()
    assert (token.site, token.name, token.created_by) == (site_a, "probe on ce01", contact_a)
    assert token.key_hash == SiteToken.hash_key(key) and key not in token.key_hash
    assert f'-H "Authorization: Token {key}"' in html.unescape(created.content.decode())
    listing = alice.get(tokens_url(site_a))
    assert shown_key(listing) is None and key not in listing.content.decode()
    assert "probe on ce01" in listing.content.decode()
    assert "never" in listing.content.decode()
    assert post_values(key, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 200
    assert "never" not in alice.get(tokens_url(site_a)).content.decode()


def test_a_token_without_a_name_is_not_made(contact_a, site_a):
    response = signed_in(contact_a).post(tokens_url(site_a), {"name": ""})
    assert response.status_code == 200
    assert shown_key(response) is None
    assert not SiteToken.objects.exists()
    assert "This field is required." in response.content.decode()


def test_revoking_a_token_stops_it(contact_a, site_a, key_a):
    alice = signed_in(contact_a)
    token = SiteToken.objects.get()
    page = alice.get(tokens_url(site_a)).content.decode()
    assert f"/sites/SITE-A/tokens/{token.pk}/revoke/" in page

    revoked = alice.post(f"/sites/SITE-A/tokens/{token.pk}/revoke/", follow=True)

    assert revoked.status_code == 200
    assert "is revoked" in revoked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in revoked.content.decode()
    assert f"/sites/SITE-A/tokens/{token.pk}/revoke/" not in revoked.content.decode()
    assert post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 401
    assert alice.get(f"/sites/SITE-A/tokens/{token.pk}/revoke/").status_code == 405


def test_only_contacts_of_the_site_and_wg_members_manage_its_tokens(
        client, contact_a, contact_b, wg_member, site_a, key_a):
    token = SiteToken.objects.get()
    revoke = f"/sites/SITE-A/tokens/{token.pk}/revoke/"
    anonymous = client.get(tokens_url(site_a))
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    assert client.post(revoke).status_code == 302

    bob = signed_in(contact_b)
    assert bob.get(tokens_url(site_a)).status_code == 403
    assert bob.post(tokens_url(site_a), {"name": "mine"}).status_code == 403
    assert bob.post(revoke).status_code == 403
    assert "API tokens" not in bob.get("/sites/SITE-A/").content.decode()
    # Bob's own site's page cannot revoke Site A's token either.
    assert bob.post(f"/sites/SITE-B/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert SiteToken.objects.count() == 1

    wendy = signed_in(wg_member)
    assert "API tokens" in wendy.get("/sites/SITE-A/").content.decode()
    assert wendy.get(tokens_url(site_a)).status_code == 200
    made = wendy.post(tokens_url(site_a), {"name": "WG tooling"})
    assert shown_key(made)
    assert wendy.post(revoke).status_code == 302
    assert signed_in(contact_a).get(tokens_url("NOWHERE")).status_code == 404


def test_token_forms_are_csrf_protected(contact_a, site_a, key_a):
    alice = signed_in(contact_a, enforce_csrf_checks=True)
    page = alice.get(tokens_url(site_a)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    token = SiteToken.objects.get()
    revoke = f"/sites/SITE-A/tokens/{token.pk}/revoke/"

    assert alice.post(tokens_url(site_a), {"name": "sneaky"}).status_code == 403
    assert alice.post(revoke).status_code == 403
    assert SiteToken.objects.count() == 1 and SiteToken.objects.get().active

    assert shown_key(alice.post(tokens_url(site_a), {"name": "fine",
                                                     "csrfmiddlewaretoken": csrf}))
    assert alice.post(revoke, {"csrfmiddlewaretoken": csrf}).status_code == 302


def test_staff_see_and_revoke_tokens_in_the_admin_but_never_a_key(django_user_model, key_a):
    admin = signed_in(django_user_model.objects.create_superuser("root", "r@x.org", PASSWORD))
    token = SiteToken.objects.get()
    assert admin.get("/admin/wlcgstatus/sitetoken/add/").status_code == 403
    change = admin.get(f"/admin/wlcgstatus/sitetoken/{token.pk}/change/").content.decode()
    assert key_a not in change and token.key_hash not in change

    admin.post("/admin/wlcgstatus/sitetoken/", {"action": "revoke",
                                                "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 401
