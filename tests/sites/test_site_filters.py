"""The sites table's filters as a user sets them: search, tier, country, kind, experiment,
scenario and compliance per experiment, exceptions in every state, reported capabilities, and
how recent the reports are; the form keeps what was chosen."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from sites.models import ExperimentSite

from ..factories.exceptions import grant
from ..factories.sites import NO_CONTAINERS, make_site, reported_on
from ..helpers import SITES, day, get_ok, listed


def test_search_finds_sites_by_name_experiment_name_and_institute(client, reference):
    make_site("CERN-PROD", institute="European Organization for Nuclear Research", serves=("cms",))
    make_site("INFN-T1", country="Italy", institute="INFN CNAF", serves=("cms",))
    make_site("DESY-HH", country="Germany", institute="DESY", serves=("atlas",))
    ExperimentSite.objects.filter(site__name="INFN-T1").update(name="T1_IT_CNAF")

    assert listed(client, {"q": "cern-prod"}) == ["CERN-PROD"]
    assert listed(client, {"q": "T1_IT"}) == ["INFN-T1"]
    assert listed(client, {"q": "nuclear research"}) == ["CERN-PROD"]
    assert listed(client, {"q": "-"}) == ["CERN-PROD", "DESY-HH", "INFN-T1"]
    assert listed(client, {"q": "nowhere"}) == []


def test_tier_filter_accepts_several_tiers(client, reference):
    for name, tier in [("T0", 0), ("T1", 1), ("T2", 2), ("T3", 3), ("NO-TIER", None)]:
        make_site(name, tier=tier)

    assert listed(client, {"tier": "1"}) == ["T1"]
    assert listed(client, {"tier": ["0", "2"]}) == ["T0", "T2"]
    assert listed(client, "tier=1&tier=3") == ["T1", "T3"]


def test_country_and_kind_filters(client, reference):
    make_site("DE-GRID", country="Germany")
    make_site("DE-HPC", country="Germany", kind="hpc")
    make_site("IT-CLOUD", country="Italy", kind="cloud")
    make_site("CH-GRID", country="Switzerland")

    assert listed(client, {"country": "Germany"}) == ["DE-GRID", "DE-HPC"]
    assert listed(client, {"kind": "hpc"}) == ["DE-HPC"]
    assert listed(client, {"kind": "grid"}) == ["CH-GRID", "DE-GRID"]
    assert listed(client, {"country": "Germany", "kind": "grid"}) == ["DE-GRID"]


def test_experiment_filter_lists_the_sites_serving_it(client, reference):
    make_site("CMS-ONLY", serves=("cms",))
    make_site("BOTH", serves=("cms", "atlas"))
    make_site("ATLAS-ONLY", serves=("atlas",))
    make_site("NONE")

    assert listed(client, {"experiment": "cms"}) == ["BOTH", "CMS-ONLY"]
    assert listed(client, {"experiment": "atlas"}) == ["ATLAS-ONLY", "BOTH"]
    assert listed(client, {"experiment": "lhcb"}) == []
    assert listed(client, {"experiment": "cms", "tier": "2"}) == ["BOTH", "CMS-ONLY"]


def test_scenario_filter_is_combined_with_the_experiment(client, reference):
    # CMS: not isolated; ATLAS: push mode.
    make_site("CMS-BARE", serves=("cms", "atlas"), **NO_CONTAINERS)
    # LHCb: not isolated; ATLAS: push mode.
    make_site("LHCB-BARE", serves=("lhcb", "atlas"), **NO_CONTAINERS)
    # Everything isolated.
    make_site("ISOLATED", serves=("cms", "atlas", "lhcb"), container_runtime="apptainer")

    assert listed(client, {"scenario": "not-isolated"}) == ["CMS-BARE", "LHCB-BARE"]
    assert listed(client, {"experiment": "atlas", "scenario": "not-isolated"}) == []
    assert listed(client, {"experiment": "cms", "scenario": "not-isolated"}) == ["CMS-BARE"]
    assert listed(client, {"experiment": "lhcb", "scenario": "not-isolated"}) == ["LHCB-BARE"]
    assert listed(client, {"experiment": "atlas", "scenario": "pilots-without-framework"}) == [
        "CMS-BARE", "LHCB-BARE"]
    assert listed(client, {"experiment": "cms",
                           "scenario": "containers-isolate-payloads"}) == ["ISOLATED"]


def test_compliance_filter_is_combined_with_the_experiment(client, reference):
    make_site("CMS-BARE", serves=("cms", "atlas"), **NO_CONTAINERS)
    make_site("LHCB-PILOT", serves=("lhcb", "atlas"), container_runtime="singularity",
              outbound_network="yes")
    make_site("ATLAS-OFFLINE", serves=("atlas",), outbound_network="no")

    assert listed(client, {"compliance": "non_compliant"}) == ["CMS-BARE"]
    assert listed(client, {"experiment": "atlas", "compliance": "non_compliant"}) == []
    assert listed(client, {"experiment": "atlas", "compliance": "acceptable"}) == [
        "ATLAS-OFFLINE", "CMS-BARE"]
    assert listed(client, {"experiment": "lhcb", "compliance": "interim"}) == ["LHCB-PILOT"]
    assert listed(client, {"experiment": "atlas", "compliance": "target"}) == ["LHCB-PILOT"]
    assert listed(client, {"experiment": "cms", "compliance": "target"}) == []
    make_site("SILENT", serves=("cms", "atlas"))  # has reported nothing
    assert listed(client, {"compliance": "unknown"}) == ["SILENT"]
    assert listed(client, {"experiment": "atlas", "compliance": "unknown"}) == ["SILENT"]
    assert listed(client, {"compliance": "non_compliant"}) == ["CMS-BARE"]


@pytest.fixture
def exceptions_at_sites(reference):
    """CMS exceptions in every state, at sites that also serve ATLAS."""
    bare = {"serves": ("cms", "atlas"), "container_runtime": "none"}
    grant(make_site("ACTIVE", **bare), day(-30), day(90))
    grant(make_site("EXPIRING", **bare), day(-30), day(10))
    grant(make_site("LAST-DAY", **bare), day(-30), day(0))
    grant(make_site("OPEN-ENDED", **bare), day(-30), None)
    grant(make_site("LAPSED", **bare), day(-200), day(-1))
    lapsed_fixed = make_site("LAPSED-FIXED", serves=("cms", "atlas"),
                             container_runtime="singularity")
    grant(lapsed_fixed, day(-200), day(-1))
    grant(make_site("REVOKED", **bare), day(-30), day(10), revoked_on=day(-2))
    grant(make_site("NOT-YET", **bare), day(3), day(60))
    make_site("PLAIN", **bare)


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
    make_site("RT-NONE", container_runtime="none", cvmfs="yes")
    make_site("SING-3.8", container_runtime="singularity", container_runtime_version="3.8.7",
              cvmfs="no")
    make_site("SING-3.11", container_runtime="singularity", container_runtime_version="3.11.4")
    make_site("APPTAINER", container_runtime="apptainer", container_runtime_version="1.3.4",
              cvmfs="yes")
    make_site("SILENT")


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
    reported_on(make_site("FRESH", container_runtime="none"), now - datetime.timedelta(days=2))
    reported_on(make_site("OLD", container_runtime="none", cvmfs="yes"),
                now - datetime.timedelta(days=40))
    mixed = make_site("MIXED", container_runtime="none", cvmfs="yes")
    reported_on(mixed, now - datetime.timedelta(days=40), "container_runtime")
    reported_on(mixed, now - datetime.timedelta(days=5), "cvmfs")
    make_site("NEVER")
    ten_days_ago = datetime.datetime.combine(day(-10), datetime.time(0, 30), datetime.UTC)
    reported_on(make_site("TEN-DAYS", container_runtime="none"), ten_days_ago)


@pytest.mark.parametrize(("query", "expected"), [
    ({"stale": "30"}, ["OLD"]),
    ({"stale": "3"}, ["MIXED", "OLD", "TEN-DAYS"]),
    ({"stale": "7"}, ["OLD", "TEN-DAYS"]),
    ({"stale": "1000"}, []),
    ({"stale": "30", "cap_container_runtime": "none"}, ["OLD"]),
])
def test_stale_filter_lists_sites_whose_last_report_is_older(
        client, report_dates, query, expected):
    # A site that never reported is not stale: its scenario is unknown.
    assert listed(client, query) == expected


def test_updated_since_filter_lists_sites_with_a_report_on_or_after_the_date(
        client, report_dates):
    since = lambda days: {"updated_since": day(-days).isoformat()}  # noqa: E731

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
