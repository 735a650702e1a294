"""The dashboard as a user drives it: every page through the test client, the overview's links,
the sites table's filters, sorting and exports, bad input in the URL, and query counts that do
not grow with the number of sites."""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import json
import re
from fractions import Fraction
from urllib.parse import urlencode

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from experiments.models import (
    CapabilityDefinition,
    Compliance,
    ExceptionKind,
    Experiment,
    Migration,
    Scenario,
)
from sites.models import (
    Assessment,
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
)
from sites.recompute import recompute
from wlcgstatus.summary import summarise

from .factories import make_site

SITES = "/sites/"


# --- helpers -------------------------------------------------------------------------------------

def get_ok(client: Client, url: str, data: dict | None = None):
    response = client.get(url, data or {})
    assert response.status_code == 200, f"{url} {data or ''} -> {response.status_code}"
    return response


def listed(client: Client, query: dict | str = "") -> list[str]:
    """The names of every site the sites table lists for this query, all pages, in order."""
    url = f"{SITES}?{query}" if isinstance(query, str) else f"{SITES}?{urlencode(query, True)}"
    response = get_ok(client, url)
    return [record.name for record in response.context["table"].data]


def shown(response) -> list[str]:
    """The names of the sites on the page shown, in order."""
    return [row.record.name for row in response.context["table"].page.object_list]


def site(name: str, *, tier: int | None = 2, country: str = "Switzerland", institute: str = "",
         kind: str = "grid", serves: tuple[str, ...] = (), **capabilities: str) -> Site:
    created = make_site(name, kind=kind, serves=serves, **capabilities)
    Site.objects.filter(pk=created.pk).update(tier=tier, country=country, institute=institute)
    return created


def reported_on(site_: Site, when: datetime.datetime, key: str | None = None) -> None:
    values = CapabilityValue.objects.filter(site=site_)
    if key:
        values = values.filter(capability__key=key)
    values.update(reported_at=when)


def grant(site_: Site, *, granted: int, expires: int | None, revoked: int | None = None,
          experiment: str = "cms") -> SiteException:
    """A grant of the experiment's exception kind, dated in days relative to today."""
    today = timezone.localdate()
    day = lambda n: None if n is None else today + datetime.timedelta(days=n)  # noqa: E731
    vo = Experiment.objects.get(slug=experiment)
    return SiteException.objects.create(
        site=site_, experiment=vo, kind=ExceptionKind.objects.filter(experiment=vo).first(),
        reason="Deploying Singularity", granted_by="WG", granted_on=day(granted),
        expires_on=day(expires), revoked_on=day(revoked))


def card(content: str, slug: str) -> str:
    """The overview's card of one experiment."""
    start = content.index(f'<section class="card" id="{slug}">')
    return content[start:content.index("</section>", start)]


def percent(count: int, total: int) -> int:
    """A share as the page shows it: a whole percentage, halves rounded up."""
    return int(Fraction(100 * count, total) + Fraction(1, 2)) if total else 0


# Capability reports the bulk sites cycle through; the last one is a site that never reported.
PATTERNS = [
    {"container_runtime": "none", "cvmfs": "yes", "outbound_network": "yes"},
    {"container_runtime": "singularity", "container_runtime_version": "3.8.7", "cvmfs": "yes"},
    {"container_runtime": "apptainer", "container_runtime_version": "1.3.4",
     "unprivileged_userns": "yes", "cvmfs": "yes", "outbound_network": "yes"},
    {"container_runtime": "none", "unprivileged_userns": "yes", "cvmfs": "yes",
     "outbound_network": "no"},
    {},
]


def bulk_sites(count: int, *, start: int = 0, prefix: str = "BULK",
               serves: tuple[str, ...] | None = None, patterns: list[dict] | None = None,
               kind: str | None = None, extras: bool = True) -> list[Site]:
    """`count` sites made in a few bulk queries, assessed at the end: varied tiers, kinds
    (unless `kind` says which) and countries; memberships (every experiment but one, in turn,
    unless `serves` says which); capability reports cycling through `patterns`; and, with
    `extras`, CMS exceptions (active, expiring, lapsed) and migration states."""
    experiments = list(Experiment.objects.all())
    definitions = {d.key: d for d in CapabilityDefinition.objects.all()}
    patterns = PATTERNS if patterns is None else patterns
    kinds = ["grid", "grid", "grid", "hpc", "grid", "cloud"]
    countries = ["Germany", "Italy", "Switzerland", "United States"]
    sites = Site.objects.bulk_create([
        Site(name=f"{prefix}-{i:04d}", tier=[0, 1, 2, 2, 3, None][i % 6],
             country=countries[i % 4], kind=kind or kinds[i % 6], institute=f"Institute {i}")
        for i in range(start, start + count)
    ])
    sites = list(Site.objects.filter(name__in=[s.name for s in sites]).order_by("name"))
    memberships, values, served_by = [], [], {}
    now = timezone.now()
    for offset, record in enumerate(sites):
        i = start + offset
        slugs = (serves if serves is not None else
                 [e.slug for j, e in enumerate(experiments) if (i + j) % len(experiments) != 0])
        served_by[record.id] = set(slugs)
        memberships += [ExperimentSite(site=record, experiment=e, name=f"{e.slug}_{record.name}",
                                       tier=record.tier)
                        for e in experiments if e.slug in slugs]
        values += [CapabilityValue(site=record, capability=definitions[key], value=value,
                                   source=CapabilityValue.Source.DEMO,
                                   reported_at=now - datetime.timedelta(days=i % 90))
                   for key, value in patterns[i % len(patterns)].items()]
    ExperimentSite.objects.bulk_create(memberships)
    CapabilityValue.objects.bulk_create(values)
    if extras:
        today = timezone.localdate()
        cms = Experiment.objects.get(slug="cms")
        exception_kind = ExceptionKind.objects.get(experiment=cms)
        exceptions = []
        for offset, record in enumerate(sites):
            if "cms" in served_by[record.id] and (start + offset) % 5 == 0:
                expires = today + datetime.timedelta(days=[90, 10, -3][(start + offset) % 3])
                exceptions.append(SiteException(
                    site=record, experiment=cms, kind=exception_kind, reason="Deploying",
                    granted_by="WG",
                    granted_on=today - datetime.timedelta(days=100), expires_on=expires))
        SiteException.objects.bulk_create(exceptions)
        states = []
        for migration in Migration.objects.prefetch_related("steps"):
            steps = [None, *migration.steps.all()]
            states += [SiteMigration(site=record, migration=migration,
                                     completed_step=steps[(start + offset) % len(steps)])
                       for offset, record in enumerate(sites)
                       if migration.experiment_id in
                       {e.id for e in experiments if e.slug in served_by[record.id]}]
        SiteMigration.objects.bulk_create(states)
    recompute(sites=[record.id for record in sites])
    return sites


# --- 1. every page renders the demo data --------------------------------------------------------

def test_overview_shows_each_experiment_with_its_compliance_shares(client, demo):
    content = get_ok(client, "/").content.decode()

    assert f"at the {Site.objects.count()} sites" in content
    for experiment in Experiment.objects.all():
        section = card(content, experiment.slug)
        assert f">{experiment.name}</a></h2>" in section
        assessments = Assessment.objects.filter(experiment=experiment)
        total = assessments.count()
        assert total > 0
        assert f"{total} sites</a>" in section
        for compliance in Compliance:
            n = assessments.filter(scenario__compliance=compliance).count()
            assert (f"<strong>{percent(n, total)}%</strong><span>{compliance.label}</span>"
                    f"<small>{n} site{'' if n == 1 else 's'}</small>") in section, (
                experiment.slug, compliance)


def test_sites_page_lists_every_site_fifty_to_a_page(client, demo):
    response = get_ok(client, SITES)
    content = response.content.decode()

    table = response.context["table"]
    assert table.paginator.count == Site.objects.count() == 150
    assert len(shown(response)) == 50
    assert shown(response) == sorted(shown(response))
    assert f"{Site.objects.count()} sites match" in content
    assert '<a href="/sites/FZK-LCG2/">FZK-LCG2</a>' in content
    for experiment in Experiment.objects.all():
        # a scenario column per experiment, which sorts by it
        assert f'<a href="?sort=scenario_{experiment.slug}">{experiment.name}</a>' in content


def test_a_sites_table_row_shows_the_sites_kind_runtime_scenarios_and_last_update(
        client, reference):
    hpc = site("HPC-ONE", tier=1, country="Italy", kind="hpc", serves=("atlas", "cms"),
               container_runtime="apptainer", container_runtime_version="1.3.4")
    reported_on(hpc, datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC))
    site("QUIET", serves=("lhcb",))
    scenarios = {a.experiment.slug: a.scenario for a in
                 Assessment.objects.filter(site=hpc).select_related("experiment", "scenario")}

    content = get_ok(client, SITES).content.decode()

    row = re.search(r'<tr><td class="nowrap"><a href="/sites/HPC-ONE/">HPC-ONE</a></td>(.*?)</tr>',
                    content).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    badge = lambda slug: f">{escape(scenarios[slug].short_name)}</span>"  # noqa: E731
    assert cells[:3] == ["1", "Italy", "HPC"]
    assert cells[3] == ""  # ALICE: not served
    assert badge("atlas") in cells[4] and badge("cms") in cells[5]
    assert cells[6:] == ["", "apptainer", "1.3.4", "2026-03-04"]
    quiet = re.search(r'href="/sites/QUIET/">QUIET</a></td>(.*?)</tr>', content).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", quiet)[-3:] == ["—", "—", "never"]


def test_site_page_shows_each_experiments_reason_and_the_illustrative_capabilities(
        client, demo):
    content = get_ok(client, "/sites/FZK-LCG2/").content.decode()

    fzk = Site.objects.get(name="FZK-LCG2")
    assert "<h1>FZK-LCG2</h1>" in content
    assert fzk.institute in content
    assessments = Assessment.objects.filter(site=fzk).select_related("experiment", "scenario")
    assert assessments.count() >= 2
    for assessment in assessments:
        assert f">{assessment.experiment.name}</a></th>" in content
        assert f'<td class="reason">{escape(assessment.reason)}</td>' in content
        if assessment.scenario:
            assert escape(assessment.scenario.short_name) in content
    values = CapabilityValue.objects.filter(site=fzk)
    assert values.exists()
    for value in values:
        assert (f"<strong>{value.value}</strong> <span class=\"tag\" "
                f"title=\"Invented for the demo\">illustrative</span>") in content
    if values.count() < CapabilityDefinition.objects.count():
        assert "not reported" in content
    for name in ExperimentSite.objects.filter(site=fzk):
        assert f"<code>{name.name}</code>" in content
    assert "<strong>Illustrative data.</strong>" in content  # the banner


def test_each_experiment_page_shows_its_rules_and_its_plan_as_html(client, demo):
    assert any("**" in plan for plan in Experiment.objects.values_list("plan", flat=True))
    for experiment in Experiment.objects.all():
        content = get_ok(client, f"/experiments/{experiment.slug}/").content.decode()

        assert f"<h1>{experiment.name}</h1>" in content
        for rule in experiment.rules.all():
            assert f"<strong>{escape(rule.summary)}</strong>" in content
        plan = experiment.plan
        for text in re.findall(r"\*\*(.+?)\*\*", plan, re.DOTALL):
            assert f"<strong>{text}</strong>" in content
            plan = plan.replace(f"**{text}**", "")
        for text in re.findall(r"\*(.+?)\*", plan, re.DOTALL):
            assert f"<em>{text}</em>" in content
        if "\n- " in plan:
            assert "<li>" in content
        assert "*" not in content.split('<section class="plan">')[1].split("</section>")[0]
        served = Assessment.objects.filter(experiment=experiment).count()
        assert f"{served} sites</a>" in content


def test_an_experiment_plan_loses_its_scripts_and_keeps_its_formatting(client, reference):
    Experiment.objects.filter(slug="cms").update(plan=(
        "Sites **must** provide Singularity.\n\n<script>alert(1)</script>\n\n"
        '<img src="x" onerror="alert(2)">\n\n[link](javascript:alert(3))'))

    content = get_ok(client, "/experiments/cms/").content.decode()

    assert "<strong>must</strong>" in content
    assert "alert(1)" not in content
    assert "onerror" not in content
    assert "javascript:alert" not in content


def test_each_migration_page_lists_its_sites_and_their_progress(client, demo):
    migrations = list(Migration.objects.select_related("experiment"))
    assert migrations
    for migration in migrations:
        content = get_ok(client, migration.get_absolute_url()).content.decode()

        assert f"<h1>{escape(migration.name)}</h1>" in content
        states = SiteMigration.objects.filter(migration=migration).select_related(
            "site", "completed_step")
        total = states.count()
        for state in states:
            assert f'<a href="/sites/{state.site.name}/">{state.site.name}</a>' in content
        for step in migration.steps.all():
            done = states.filter(completed_step__position__gte=step.position).count()
            assert f"{done} / {total}" in content
            assert escape(step.name) in content


def test_scenarios_page_counts_each_experiments_sites_per_scenario(client, demo):
    content = get_ok(client, "/scenarios/").content.decode()

    for scenario in Scenario.objects.all():
        assert f"<h2>{escape(scenario.name)}</h2>" in content
    pairs = Assessment.objects.exclude(scenario=None).values_list(
        "scenario__slug", "experiment__slug", "experiment__name").distinct()
    assert pairs
    for scenario, slug, name in pairs:
        n = Assessment.objects.filter(scenario__slug=scenario, experiment__slug=slug).count()
        link = escape(f"/sites/?{urlencode({'experiment': slug, 'scenario': scenario})}")
        assert f'<a href="{link}">{name}: {n} site{"" if n == 1 else "s"}</a>' in content


# --- 2. every figure of the overview opens the sites behind it ----------------------------------

def test_every_overview_figure_opens_the_sites_table_listing_that_many_sites(client, demo):
    content = get_ok(client, "/").content.decode()
    figures = []
    for summary in summarise(timezone.localdate()):
        figures.append((summary.url, summary.total))
        figures += [(f.url, f.count)
                    for f in [*summary.scenarios, *summary.compliance, *summary.exceptions]]
    assert any(count for url, count in figures if "exception=" in url)  # not all zero

    for url, count in figures:
        assert f'href="{escape(url)}"' in content, url
        response = get_ok(client, url)
        assert response.context["table"].paginator.count == count, url


def test_every_scenarios_page_link_opens_the_sites_it_counts(client, demo):
    content = get_ok(client, "/scenarios/").content.decode()
    links = re.findall(r'<a href="(/sites/\?[^"]+)">[^<:]+: (\d+) sites?</a>', content)
    assert len(links) >= Experiment.objects.count()

    for url, count in links:
        response = get_ok(client, url.replace("&amp;", "&"))
        assert response.context["table"].paginator.count == int(count), url


def test_an_exception_figure_and_its_table_agree_when_a_site_stopped_serving_the_experiment(
        client, reference, django_capture_on_commit_callbacks):
    kept = site("KEPT", serves=("cms",), container_runtime="none")
    left = site("LEFT", serves=("cms", "atlas"), container_runtime="none")
    grant(kept, granted=-10, expires=60)
    grant(left, granted=-10, expires=60)
    with django_capture_on_commit_callbacks(execute=True):
        ExperimentSite.objects.filter(site=left, experiment__slug="cms").delete()

    (cms,) = summarise(timezone.localdate(), [Experiment.objects.get(slug="cms")])
    active = next(f for f in cms.exceptions if "exception=active" in f.url)
    assert listed(client, active.url.split("?", 1)[1]) == ["KEPT"]
    assert active.count == 1


def test_an_exception_figure_and_its_table_agree_when_a_site_is_retired(
        client, reference, django_capture_on_commit_callbacks):
    kept = site("KEPT", serves=("cms",), container_runtime="none")
    retired = site("RETIRED", serves=("cms",), container_runtime="none")
    grant(kept, granted=-10, expires=20)
    grant(retired, granted=-10, expires=20)
    with django_capture_on_commit_callbacks(execute=True):
        retired.retired_on = timezone.localdate()
        retired.save()

    (cms,) = summarise(timezone.localdate(), [Experiment.objects.get(slug="cms")])
    for state in ("active", "expiring"):
        figure = next(f for f in cms.exceptions if f"exception={state}" in f.url)
        assert listed(client, figure.url.split("?", 1)[1]) == ["KEPT"], state
        assert figure.count == 1, state
    page = get_ok(client, "/experiments/cms/").context
    assert [exception.site.name for exception, _active in page["exceptions"]] == ["KEPT"]
    assert [record.name for record in page["table"].data] == ["KEPT"]
    api = client.get("/api/exceptions/", HTTP_ACCEPT="application/json").json()
    assert [exception["site"] for exception in api["results"]] == ["KEPT"]


# --- 3. the sites table's filters ---------------------------------------------------------------

def test_search_finds_sites_by_name_experiment_name_and_institute(client, reference):
    site("CERN-PROD", institute="European Organization for Nuclear Research", serves=("cms",))
    site("INFN-T1", country="Italy", institute="INFN CNAF", serves=("cms",))
    site("DESY-HH", country="Germany", institute="DESY", serves=("atlas",))
    ExperimentSite.objects.filter(site__name="INFN-T1").update(name="T1_IT_CNAF")

    assert listed(client, {"q": "cern-prod"}) == ["CERN-PROD"]
    assert listed(client, {"q": "T1_IT"}) == ["INFN-T1"]
    assert listed(client, {"q": "nuclear research"}) == ["CERN-PROD"]
    assert listed(client, {"q": "-"}) == ["CERN-PROD", "DESY-HH", "INFN-T1"]
    assert listed(client, {"q": "nowhere"}) == []


def test_tier_filter_accepts_several_tiers(client, reference):
    for name, tier in [("T0", 0), ("T1", 1), ("T2", 2), ("T3", 3), ("NO-TIER", None)]:
        site(name, tier=tier)

    assert listed(client, {"tier": "1"}) == ["T1"]
    assert listed(client, {"tier": ["0", "2"]}) == ["T0", "T2"]
    assert listed(client, "tier=1&tier=3") == ["T1", "T3"]


def test_country_and_kind_filters(client, reference):
    site("DE-GRID", country="Germany")
    site("DE-HPC", country="Germany", kind="hpc")
    site("IT-CLOUD", country="Italy", kind="cloud")
    site("CH-GRID", country="Switzerland")

    assert listed(client, {"country": "Germany"}) == ["DE-GRID", "DE-HPC"]
    assert listed(client, {"kind": "hpc"}) == ["DE-HPC"]
    assert listed(client, {"kind": "grid"}) == ["CH-GRID", "DE-GRID"]
    assert listed(client, {"country": "Germany", "kind": "grid"}) == ["DE-GRID"]


def test_experiment_filter_lists_the_sites_serving_it(client, reference):
    site("CMS-ONLY", serves=("cms",))
    site("BOTH", serves=("cms", "atlas"))
    site("ATLAS-ONLY", serves=("atlas",))
    site("NONE")

    assert listed(client, {"experiment": "cms"}) == ["BOTH", "CMS-ONLY"]
    assert listed(client, {"experiment": "atlas"}) == ["ATLAS-ONLY", "BOTH"]
    assert listed(client, {"experiment": "lhcb"}) == []
    assert listed(client, {"experiment": "cms", "tier": "2"}) == ["BOTH", "CMS-ONLY"]


def test_scenario_filter_is_combined_with_the_experiment(client, reference):
    # CMS: not isolated; ATLAS: push mode.
    site("CMS-BARE", serves=("cms", "atlas"), container_runtime="none")
    # LHCb: not isolated; ATLAS: push mode.
    site("LHCB-BARE", serves=("lhcb", "atlas"), container_runtime="none")
    # Everything isolated.
    site("ISOLATED", serves=("cms", "atlas", "lhcb"), container_runtime="apptainer")

    assert listed(client, {"scenario": "not-isolated"}) == ["CMS-BARE", "LHCB-BARE"]
    assert listed(client, {"experiment": "atlas", "scenario": "not-isolated"}) == []
    assert listed(client, {"experiment": "cms", "scenario": "not-isolated"}) == ["CMS-BARE"]
    assert listed(client, {"experiment": "lhcb", "scenario": "not-isolated"}) == ["LHCB-BARE"]
    assert listed(client, {"experiment": "atlas", "scenario": "pilots-without-framework"}) == [
        "CMS-BARE", "LHCB-BARE"]
    assert listed(client, {"experiment": "cms",
                           "scenario": "containers-isolate-payloads"}) == ["ISOLATED"]


def test_compliance_filter_is_combined_with_the_experiment(client, reference):
    site("CMS-BARE", serves=("cms", "atlas"), container_runtime="none")
    site("LHCB-PILOT", serves=("lhcb", "atlas"), container_runtime="singularity")
    site("ATLAS-OFFLINE", serves=("atlas",), outbound_network="no")

    assert listed(client, {"compliance": "non_compliant"}) == ["CMS-BARE"]
    assert listed(client, {"experiment": "atlas", "compliance": "non_compliant"}) == []
    assert listed(client, {"experiment": "atlas", "compliance": "acceptable"}) == [
        "ATLAS-OFFLINE", "CMS-BARE"]
    assert listed(client, {"experiment": "lhcb", "compliance": "interim"}) == ["LHCB-PILOT"]
    assert listed(client, {"experiment": "atlas", "compliance": "target"}) == ["LHCB-PILOT"]
    assert listed(client, {"experiment": "cms", "compliance": "target"}) == []


@pytest.fixture
def exceptions_at_sites(reference):
    """CMS exceptions in every state, at sites that also serve ATLAS."""
    bare = {"serves": ("cms", "atlas"), "container_runtime": "none"}
    grant(site("ACTIVE", **bare), granted=-30, expires=90)
    grant(site("EXPIRING", **bare), granted=-30, expires=10)
    grant(site("LAST-DAY", **bare), granted=-30, expires=0)
    grant(site("OPEN-ENDED", **bare), granted=-30, expires=None)
    grant(site("LAPSED", **bare), granted=-200, expires=-1)
    grant(site("LAPSED-FIXED", serves=("cms", "atlas"), container_runtime="singularity"),
          granted=-200, expires=-1)
    grant(site("REVOKED", **bare), granted=-30, expires=10, revoked=-2)
    grant(site("NOT-YET", **bare), granted=3, expires=60)
    site("PLAIN", **bare)


@pytest.mark.parametrize(("query", "expected"), [
    ({"exception": "active"}, ["ACTIVE", "EXPIRING", "LAST-DAY", "OPEN-ENDED"]),
    ({"exception": "expiring"}, ["EXPIRING", "LAST-DAY"]),
    ({"exception": "lapsed"}, ["LAPSED"]),
    ({"experiment": "cms", "exception": "active"},
     ["ACTIVE", "EXPIRING", "LAST-DAY", "OPEN-ENDED"]),
    ({"experiment": "cms", "exception": "lapsed"}, ["LAPSED"]),
    ({"experiment": "atlas", "exception": "active"}, []),
    ({"experiment": "atlas", "exception": "lapsed"}, []),
    ({"experiment": "cms", "scenario": "transition-exception"},
     ["ACTIVE", "EXPIRING", "LAST-DAY", "OPEN-ENDED"]),
], ids=lambda value: urlencode(value) if isinstance(value, dict) else "")
def test_exception_filter_finds_active_expiring_and_lapsed_exceptions(
        client, exceptions_at_sites, query, expected):
    assert listed(client, query) == expected


@pytest.fixture
def reported_capabilities(reference):
    site("RT-NONE", container_runtime="none", cvmfs="yes")
    site("SING-3.8", container_runtime="singularity", container_runtime_version="3.8.7",
         cvmfs="no")
    site("SING-3.11", container_runtime="singularity", container_runtime_version="3.11.4")
    site("APPTAINER", container_runtime="apptainer", container_runtime_version="1.3.4",
         cvmfs="yes")
    site("SILENT")


@pytest.mark.parametrize(("query", "expected"), [
    ({"cap_container_runtime": "none"}, ["RT-NONE"]),
    ({"cap_container_runtime": "singularity"}, ["SING-3.11", "SING-3.8"]),
    ({"cap_container_runtime": "(not reported)"}, ["SILENT"]),
    ({"cap_cvmfs": "yes"}, ["APPTAINER", "RT-NONE"]),
    ({"cap_cvmfs": "no"}, ["SING-3.8"]),
    ({"cap_cvmfs": "(not reported)"}, ["SILENT", "SING-3.11"]),
    ({"cap_container_runtime_version": "3.8"}, ["SING-3.8"]),
    ({"cap_container_runtime_version": "3.8.7"}, ["SING-3.8"]),
    ({"cap_container_runtime_version": "3.11"}, ["SING-3.11"]),
    ({"cap_container_runtime_version": "3.1"}, []),
    ({"cap_container_runtime_version": "3"}, ["SING-3.11", "SING-3.8"]),
    ({"cap_container_runtime_version": "(not reported)"}, ["RT-NONE", "SILENT"]),
    ({"cap_container_runtime": "singularity", "cap_cvmfs": "(not reported)"}, ["SING-3.11"]),
], ids=lambda value: urlencode(value) if isinstance(value, dict) else "")
def test_capability_filters_match_the_reported_values(
        client, reported_capabilities, query, expected):
    assert listed(client, query) == expected


@pytest.fixture
def report_dates(reference):
    now = timezone.now()
    reported_on(site("FRESH", container_runtime="none"), now - datetime.timedelta(days=2))
    reported_on(site("OLD", container_runtime="none", cvmfs="yes"),
                now - datetime.timedelta(days=40))
    mixed = site("MIXED", container_runtime="none", cvmfs="yes")
    reported_on(mixed, now - datetime.timedelta(days=40), "container_runtime")
    reported_on(mixed, now - datetime.timedelta(days=5), "cvmfs")
    site("NEVER")
    ten_days_ago = datetime.datetime.combine(timezone.localdate() - datetime.timedelta(days=10),
                                             datetime.time(0, 30), datetime.UTC)
    reported_on(site("TEN-DAYS", container_runtime="none"), ten_days_ago)


@pytest.mark.parametrize(("query", "expected"), [
    ({"stale": "30"}, ["NEVER", "OLD"]),
    ({"stale": "3"}, ["MIXED", "NEVER", "OLD", "TEN-DAYS"]),
    ({"stale": "7"}, ["NEVER", "OLD", "TEN-DAYS"]),
    ({"stale": "1000"}, ["NEVER"]),
    ({"stale": "30", "cap_container_runtime": "none"}, ["OLD"]),
])
def test_stale_filter_lists_sites_without_a_recent_report_and_those_never_reported(
        client, report_dates, query, expected):
    assert listed(client, query) == expected


def test_updated_since_filter_lists_sites_with_a_report_on_or_after_the_date(
        client, report_dates):
    today = timezone.localdate()
    since = lambda days: {"updated_since": (today - datetime.timedelta(days=days)).isoformat()}  # noqa: E731

    assert listed(client, since(10)) == ["FRESH", "MIXED", "TEN-DAYS"]
    assert listed(client, since(9)) == ["FRESH", "MIXED"]
    assert listed(client, since(3)) == ["FRESH"]
    assert listed(client, since(100)) == ["FRESH", "MIXED", "OLD", "TEN-DAYS"]


def test_the_filter_form_keeps_the_chosen_values(client, reported_capabilities):
    response = get_ok(client, SITES, {"cap_cvmfs": "yes", "q": "RT"})
    form = response.context["filter"].form

    assert form.cleaned_data["cap_cvmfs"] == "yes"
    assert 'value="RT"' in response.content.decode()
    assert "1 site matches" in response.content.decode()


# --- 4. sorting ----------------------------------------------------------------------------------

@pytest.fixture
def cms_scenarios(reference):
    site("ALPHA", serves=("cms",), container_runtime="none")  # not isolated, position 7
    site("BRAVO", serves=("cms",), container_runtime="singularity")  # isolated, position 1
    site("CHARLIE", serves=("atlas",), container_runtime="none")  # CMS does not use it
    site("DELTA", kind="hpc", serves=("cms",))  # production only, position 4
    grant(site("ECHO", serves=("cms",), container_runtime="none"),  # transition, position 6
          granted=-5, expires=30)
    site("FOXTROT", serves=("cms",), container_runtime="apptainer")  # isolated, position 1


def test_sort_by_name_both_ways(client, cms_scenarios):
    names = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT"]

    assert shown(get_ok(client, SITES, {"sort": "name"})) == names
    assert shown(get_ok(client, SITES, {"sort": "-name"})) == names[::-1]


def test_sort_by_an_experiments_scenario_follows_the_scenario_order(client, cms_scenarios):
    positions = dict(Assessment.objects.filter(experiment__slug="cms")
                     .values_list("site__name", "scenario__position"))
    assert sorted(set(positions.values())) == [1, 4, 6, 7]

    ascending = shown(get_ok(client, SITES, {"sort": "scenario_cms"}))
    descending = shown(get_ok(client, SITES, {"sort": "-scenario_cms"}))

    assert ascending == ["BRAVO", "FOXTROT", "DELTA", "ECHO", "ALPHA", "CHARLIE"]
    assert descending == ["ALPHA", "ECHO", "DELTA", "BRAVO", "FOXTROT", "CHARLIE"]
    assert [positions[name] for name in ascending[:-1]] == sorted(positions.values())


def test_sort_by_scenario_on_the_experiment_page(client, cms_scenarios):
    response = get_ok(client, "/experiments/cms/", {"sort": "-scenario_cms"})

    assert shown(response) == ["ALPHA", "ECHO", "DELTA", "BRAVO", "FOXTROT"]


@pytest.mark.parametrize("column", ["tier", "-country", "kind", "container_runtime",
                                    "-last_reported_at", "scenario_atlas", "-scenario_lhcb"])
def test_sort_by_any_other_column_works(client, cms_scenarios, column):
    response = get_ok(client, SITES, {"sort": column})

    assert len(shown(response)) == 6


# --- 5. exports ----------------------------------------------------------------------------------

@pytest.fixture
def many_bare_cms_sites(reference):
    """60 CMS sites without Singularity and 15 with it: more than a page of 50 either way."""
    bulk_sites(60, prefix="BARE", serves=("cms", "atlas"), kind="grid",
               patterns=[{"container_runtime": "none"}], extras=False)
    bulk_sites(15, prefix="SING", serves=("cms",), kind="grid",
               patterns=[{"container_runtime": "singularity"}], extras=False)


def parse_export(response, export_format: str) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if export_format == "csv":
        return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    if export_format == "json":
        return json.loads(body)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "json"])
def test_an_export_holds_exactly_the_filtered_rows_of_every_page(
        client, many_bare_cms_sites, export_format):
    query = {"experiment": "cms", "scenario": "not-isolated", "sort": "-name"}
    table = get_ok(client, SITES, query).context["table"]
    assert table.paginator.count == 60 and table.paginator.num_pages == 2
    names = [record.name for record in table.data]
    assert names == sorted(Site.objects.filter(name__startswith="BARE")
                           .values_list("name", flat=True), reverse=True)

    response = get_ok(client, SITES, {**query, "_export": export_format})

    assert f"wlcg-sites.{export_format}" in response["Content-Disposition"]
    rows = parse_export(response, export_format)
    assert [row["Site"] for row in rows] == names
    assert {row["CMS"] for row in rows} == {"Payloads not isolated"}
    assert {row["ATLAS"] for row in rows} == {
        "Using VO pilots without VO framework capabilities"}


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "json"])
def test_every_export_format_gives_the_same_values_for_a_site(client, reference, export_format):
    hpc = site("HPC-ONE", tier=1, country="Italy", kind="hpc", serves=("atlas",),
               container_runtime="apptainer", container_runtime_version="1.3.4")
    reported_on(hpc, datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC))
    atlas = Assessment.objects.get(site=hpc).scenario.name

    response = get_ok(client, SITES, {"q": "HPC-ONE", "_export": export_format})

    [row] = parse_export(response, export_format)
    assert {key: "" if value is None else str(value) for key, value in row.items()} == {
        "Site": "HPC-ONE", "Tier": "1", "Country": "Italy", "Kind": "HPC", "ALICE": "",
        "ATLAS": atlas, "CMS": "", "LHCb": "", "Runtime": "apptainer", "Version": "1.3.4",
        "Last update": "2026-03-04"}


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "json"])
def test_an_export_of_an_invalid_filter_is_empty(client, many_bare_cms_sites, export_format):
    response = get_ok(client, SITES, {"experiment": "nope", "_export": export_format})

    assert parse_export(response, export_format) == []


# --- 6. bad input in the URL ---------------------------------------------------------------------

@pytest.fixture
def lenient_client():
    """A client that reports a server error as a 500 response instead of raising it."""
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(("query", "label"), [
    ({"experiment": "nope"}, "Experiment"),
    ({"tier": "9"}, "Tier"),
    ({"tier": ["1", "nine"]}, "Tier"),
    ({"scenario": "zzz"}, "Scenario"),
    ({"compliance": "perfect"}, "Compliance"),
    ({"exception": "forever"}, "Exception"),
    ({"country": "Atlantis"}, "Country"),
    ({"kind": "mainframe"}, "Kind"),
    ({"cap_cvmfs": "maybe"}, "CVMFS"),
    ({"updated_since": "2026-13-45"}, "Updated since"),
    ({"stale": "abc"}, "Not updated for (days)"),
    ({"stale": "-3"}, "Not updated for (days)"),
    ({"stale": "1000000"}, "Not updated for (days)"),
    ({"experiment": "cms", "scenario": "zzz"}, "Scenario"),
], ids=lambda value: urlencode(value, True) if isinstance(value, dict) else "")
def test_an_unusable_filter_value_gives_a_clear_message_and_no_rows(
        lenient_client, cms_scenarios, query, label):
    response = lenient_client.get(SITES, query)

    assert response.status_code == 200
    content = response.content.decode()
    assert '<div class="form-errors" role="alert">' in content
    assert f"<li>{escape(label)}: " in content
    assert response.context["table"].paginator.count == 0
    assert "No site matches these filters." in content


def test_a_page_past_the_end_shows_the_last_page(lenient_client, many_bare_cms_sites):
    response = lenient_client.get(SITES, {"page": "9999"})

    assert response.status_code == 200
    page = response.context["table"].page
    assert page.number == 2
    assert shown(response) == sorted(Site.objects.values_list("name", flat=True))[50:]


@pytest.mark.parametrize("page", ["abc", "0", "-1", ""])
def test_a_page_that_is_not_a_page_number_gives_a_page(lenient_client, cms_scenarios, page):
    response = lenient_client.get(SITES, {"page": page})

    assert response.status_code == 200
    assert shown(response)


@pytest.mark.parametrize("query", [
    {"sort": "nonsense"}, {"sort": "-scenario_nope"}, {"sort": "runtime_version"},
    {"q": "%' OR 1=1 --"}, {"stale": "2.5"},
    {"updated_since": "0001-01-01"}, {"updated_since": "9999-12-31"}, {"per_page": "0"},
    {"per_page": "abc"}, {"_export": "pdf"},
], ids=lambda value: urlencode(value))
def test_odd_but_valid_input_gives_a_page(lenient_client, cms_scenarios, query):
    response = lenient_client.get(SITES, query)

    assert response.status_code == 200
    assert '<div class="form-errors"' not in response.content.decode()


@pytest.mark.parametrize("days", ["1000000", "1e12"])
def test_a_huge_stale_value_gives_a_page(lenient_client, cms_scenarios, days):
    response = lenient_client.get(SITES, {"stale": days})

    assert response.status_code == 200


@pytest.mark.parametrize("url", [SITES, "/experiments/cms/"])
def test_a_negative_page_size_gives_a_page(lenient_client, cms_scenarios, url):
    response = lenient_client.get(url, {"per_page": "-1"})

    assert response.status_code == 200


@pytest.mark.parametrize("export_format", ["ods", "xls"])
def test_an_export_format_that_is_not_offered_gives_no_server_error(
        lenient_client, cms_scenarios, export_format):
    response = lenient_client.get(SITES, {"_export": export_format})

    assert response.status_code == 200


@pytest.mark.parametrize("url", [
    "/sites/NO-SUCH-SITE/", "/experiments/nope/", "/experiments/cms/migrations/nope/",
    "/experiments/nope/migrations/singularity-rollout/",
    "/experiments/atlas/migrations/singularity-rollout/",
])
def test_an_unknown_site_experiment_or_migration_is_not_found(lenient_client, reference, url):
    assert lenient_client.get(url).status_code == 404


# --- 7. query counts do not grow with the number of sites ---------------------------------------

PAGES = {
    "overview": "/",
    "sites": SITES,
    "filtered sites": f"{SITES}?experiment=cms&scenario=not-isolated&tier=2&tier=3&sort=-name",
    "sites sorted by scenario": f"{SITES}?sort=scenario_cms&cap_cvmfs=yes&stale=10",
    "site": "/sites/BULK-0000/",
    "experiment": "/experiments/cms/",
    "migration": "/experiments/alice/migrations/alien-to-jalien/",
    "scenarios": "/scenarios/",
}


def queries_for(client: Client, url: str) -> list[str]:
    client.get(url)  # warm up whatever is cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    if "table" in response.context:  # a table with rows, so its rows are queried too
        assert response.context["table"].page.object_list
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("url", PAGES.values(), ids=PAGES.keys())
def test_a_page_makes_as_many_queries_for_400_sites_as_for_20(client, reference, url):
    bulk_sites(20)
    few = queries_for(client, url)
    bulk_sites(380, start=20)
    assert Site.objects.count() == 400
    assert SiteMigration.objects.filter(migration__slug="alien-to-jalien").count() > 200
    many = queries_for(client, url)

    assert len(many) == len(few), "\n".join(difflib.unified_diff(few, many, lineterm=""))
