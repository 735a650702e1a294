"""Reading through the API: the sites list filters as the sites table does, and pages; a site
shows its names, values with who and when, and assessments; experiments, scenarios,
assessments, exceptions, migrations and the overview's figures, each as the pages show them."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils import timezone

from experiments.models import ExceptionKind, Experiment, Migration, Scenario
from sites.models import Assessment, CapabilityValue, Site
from wlcgstatus.summary import summarise

from ...helpers import get_json, listed


def api_names(client, query: dict | None = None) -> list[str]:
    page = get_json(client, "/api/sites/", {**(query or {}), "page_size": 500})
    assert page["next"] is None
    return [site["name"] for site in page["results"]]


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
        table = listed(client, query)
        names = api_names(client, query)
        assert names == list(Site.objects.filter(name__in=table).order_by("name")
                             .values_list("name", flat=True)), query
        assert len(names) == len(table), query
        found.append(len(names))
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
    assert [(k["slug"], k["applies_to"], k["max_months"]) for k in cms["exception_kinds"]] == [
        ("hpc-production-only", "hpc", None), ("singularity-transition", "", 9)]
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
        ({"compliance": "unknown"}, Assessment.objects.filter(scenario=None)),
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
        slug="singularity-transition").scenario.slug


def test_migrations_show_each_steps_progress(client, api_data):
    listed = get_json(client, "/api/migrations/")["results"]
    assert len(listed) == Migration.objects.count()
    # Every site serving the experiment takes part: ALICE's SITE-D, recorded by hand at its
    # first step; CMS's SITE-A, SITE-B (isolated: done) and SITE-E; LHCb's SITE-C (whole pilot
    # in a container: first step done) and SITE-E.
    assert {m["slug"]: (m["sites"], [(s["sites_done"], s["derived"]) for s in m["steps"]])
            for m in listed} == {
        "alien-to-jalien": (1, [(1, False), (0, False)]),
        "singularity-rollout": (3, [(1, True)]),
        "container-isolation": (2, [(1, True), (0, True)]),
    }
    alice = get_json(client, "/api/migrations/", {"experiment": "alice"})["results"]
    assert [m["slug"] for m in alice] == ["alien-to-jalien"]
    first, second = alice[0]["steps"]
    assert (first["target_period"], first["target_date"], first["share"]) == (
        "LS2", "2022-07-04", 100.0)
    assert (first["overdue"], second["overdue"]) == (False, True)


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
