"""Unknown is its own compliance class: a site that has not reported what a policy rule tests
is not counted compliant. Stale reports keep their class, flagged wherever it shows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from sites.models import Assessment

from ..factories.sites import NO_CONTAINERS, make_site, reported_on
from ..helpers import (
    SITES,
    download,
    get_json,
    get_ok,
    listed,
    page_text,
    request_report,
    section,
    soup,
    text_of,
)


@pytest.fixture
def silent_and_old(reference):
    """SILENT reported nothing; OLD reported 200 days ago; FRESH reported today."""
    make_site("SILENT", serves=("alice", "atlas"))
    old = make_site("OLD", serves=("alice", "atlas"), **NO_CONTAINERS)
    reported_on(old, timezone.now() - datetime.timedelta(days=200))
    make_site("FRESH", serves=("alice", "atlas"), **NO_CONTAINERS)


def headline(response, experiment: str) -> dict[str, str]:
    """The overview card's compliance figures: label → “share% · count”."""
    card = soup(response).find("section", class_="card", id=experiment)
    return {item.find("span").get_text(): f"{item.find('strong').get_text()} · "
                                          f"{item.find('small').get_text()}"
            for item in card.select("ul.headline li")}


def test_a_site_that_reported_nothing_is_unknown_not_acceptable(client, silent_and_old):
    page = page_text(get_ok(client, "/sites/SILENT/"))
    assert "Production only" not in page and "Push mode" not in page
    assert ("Unknown: rule 1 (Containers usable, the Job Agent isolates payloads) needs "
            "Container runtime, not reported") in page
    assert ("Unknown: rule 1 (No network connectivity, no proxy at all) needs Outbound "
            "network, not reported") in page

    figures = headline(get_ok(client, "/"), "alice")
    assert figures["Unknown"] == "33% · 1 site"
    assert figures["Acceptable"] == "67% · 2 sites"  # OLD and FRESH: production only
    assert listed(client, {"experiment": "alice", "compliance": "unknown"}) == ["SILENT"]


def test_the_api_gives_unknown_as_a_compliance_value_and_filters_by_it(client, silent_and_old):
    silent = get_json(client, "/api/assessments/", {"site": "SILENT"})["results"]
    assert {(a["experiment"], a["scenario"], a["compliance"]) for a in silent} == {
        ("alice", None, "unknown"), ("atlas", None, "unknown")}
    unknown = get_json(client, "/api/assessments/", {"compliance": "unknown"})["results"]
    assert {a["site"] for a in unknown} == {"SILENT"}
    [alice] = [s for s in get_json(client, "/api/summary/")["results"]
               if s["experiment"] == "alice"]
    assert {f["key"]: f["count"] for f in alice["compliance"]}["unknown"] == 1
    assert sum(f["share"] for f in alice["compliance"]) == 100


def test_unknown_is_a_segment_of_the_chart_opening_those_sites(client, silent_and_old):
    chart = get_ok(client, "/experiments/alice/").context["figures"].chart
    segments = {trace["name"]: trace["customdata"][0] for trace in chart.figure["data"]}
    assert segments["Unknown"] == "/sites/?experiment=alice&compliance=unknown"


def test_stale_sites_keep_their_class_and_are_flagged_everywhere_it_shows(
        client, silent_and_old, settings):
    assert settings.CAPABILITY_CONFIRM_DAYS == 180
    assert Assessment.objects.get(site__name="OLD", experiment__slug="alice").scenario.slug == (
        "production-only")

    overview = get_ok(client, "/")
    note = soup(overview).find("section", id="alice").find(class_="stale-note")
    assert text_of(note) == ("stale 1 site not confirmed for over 180 days: counted in its "
                             "class, which may be out of date.")
    assert listed(client, note.find("a")["href"].partition("?")[2]) == ["OLD"]

    site_page = soup(get_ok(client, "/sites/OLD/"))
    assert [text_of(row.find_all("td")[0]) for row in site_page.select("table.assessments tbody tr")
            ] == ["Production only stale Acceptable", "Push mode stale Acceptable"]
    fresh_page = page_text(get_ok(client, "/sites/FRESH/"))
    assert "stale" not in fresh_page

    table = soup(get_ok(client, SITES))
    rows = {text_of(row.find("th") or row.find("td")): text_of(row.find_all("td")[-1])
            for row in table.select("table.sites tbody tr")}
    assert rows["OLD"].endswith("stale") and not rows["FRESH"].endswith("stale")

    old = get_json(client, "/api/assessments/", {"site": "OLD"})["results"]
    assert {(a["compliance"], a["stale"]) for a in old} == {("acceptable", True)}
    assert not any(a["stale"] for a in
                   get_json(client, "/api/assessments/", {"site": "FRESH"})["results"])
    [alice] = [s for s in get_json(client, "/api/summary/")["results"]
               if s["experiment"] == "alice"]
    assert alice["stale"]["count"] == 1


def test_the_report_has_an_unknown_line_and_counts_stale_sites(
        client, wg_member, silent_and_old, settings, tmp_path,
        django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(wg_member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of=timezone.localdate().isoformat(), format="md")
    alice = section(download(client, report).decode(), "ALICE")
    assert "| Unknown | 1 | 33% |" in alice
    assert "unknown 1 (33%)" in alice
    assert "Stale: 1 site not confirmed for over 180 days, counted in its class." in alice


def test_the_demo_shows_unknown_and_stale_sites(client, demo):
    assert Assessment.objects.filter(scenario=None, reason__startswith="Unknown: ").exists()
    overview = soup(get_ok(client, "/"))
    assert overview.select(".stale-note")
