"""The capability probe, run as a site would run it, reporting to a live server, and as the
monitoring check a site wires into SAM/ETF or Nagios."""

import datetime
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from sites.models import Assessment, CapabilityValue, SiteToken
from wlcgstatus.probe import wlcg_capability_probe as probe

from ..factories.sites import make_site, reported_on

PROBE = Path(probe.__file__)
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_probe_reports_this_machine_to_the_live_server(live_server, reference,
                                                           django_user_model):
    site = make_site("PROBED-SITE", serves=("cms", "atlas"))
    contact = django_user_model.objects.create_user("probe-owner")
    site.contacts.add(contact)
    _token, key = SiteToken.issue(site, "worker node probe", contact)
    # Outbound connections are tested against the live server: the only host there is here.
    check = live_server.url.removeprefix("http://")

    run = subprocess.run(
        [sys.executable, str(PROBE), "--url", live_server.url, "--site", site.name,
         "--check-host", check],
        env={"WLCGSTATUS_TOKEN": key, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    assert f"Reported to {live_server.url} for PROBED-SITE." in run.stdout
    expected = probe.probe(host=check.split(":")[0], port=int(check.split(":")[1]))
    stored = dict(CapabilityValue.objects.filter(site=site)
                  .values_list("capability__key", "value"))
    assert stored == {key: value for key, value in expected.items() if value}
    assert stored["outbound_network"] == "yes"
    assert set(CapabilityValue.objects.filter(site=site).values_list("source", flat=True)) == {
        CapabilityValue.Source.PROBE}
    for assessment in Assessment.objects.filter(site=site).select_related("experiment",
                                                                          "scenario"):
        assert (f"{assessment.experiment.slug}: {assessment.scenario.slug} "
                f"({assessment.scenario.compliance})") in run.stdout


def test_the_probe_says_when_its_token_is_refused(live_server, reference):
    make_site("PROBED-SITE", serves=("cms",))
    run = subprocess.run(
        [sys.executable, str(PROBE), "--url", live_server.url, "--site", "PROBED-SITE",
         "--token", "wlcg_not-a-token", "--check-host", "127.0.0.1:9"],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "wlcgstatus refused the report (401)" in run.stderr
    assert not CapabilityValue.objects.filter(site__name="PROBED-SITE").exists()


# --- the probe as a monitoring check (Nagios conventions, as SAM and ETF run it) ---------------

def run_check(url: str, site: str, vo: str, *extra: str, token: str = "", check_host: str):
    """The probe as a site's monitoring runs it: one status line, an exit code."""
    run = subprocess.run(
        [sys.executable, str(PROBE), "--check", "--url", url, "--site", site, "--vo", vo,
         "--check-host", check_host, *extra],
        env={"PATH": "/usr/bin:/bin", **({"WLCGSTATUS_TOKEN": token} if token else {})},
        capture_output=True, text=True, timeout=120)
    assert len(run.stdout.splitlines()) == 1, run.stdout + run.stderr  # one status line
    return run.returncode, run.stdout.strip()


@pytest.fixture
def check_host(live_server) -> str:
    """Outbound connections are tested against the live server: no other host is contacted."""
    return live_server.url.removeprefix("http://")


@pytest.fixture
def found_here(check_host) -> dict[str, str]:
    """What the probe finds on this machine, as it will find it in the check."""
    host, port = check_host.split(":")
    return probe.probe(host=host, port=int(port))


def test_the_check_is_ok_when_this_node_matches_the_sites_report(live_server, reference,
                                                                 check_host, found_here):
    make_site("CHECKED-SITE", serves=("atlas",),
              **{key: value for key, value in found_here.items() if value})
    status, line = run_check(live_server.url, "CHECKED-SITE", "atlas", check_host=check_host)
    scenario = Assessment.objects.get(site__name="CHECKED-SITE").scenario
    assert scenario.compliance != "non_compliant"  # ATLAS accepts a site without containers
    assert (status, line) == (
        0, f"OK - CHECKED-SITE matches its report; atlas: {scenario.slug} "
           f"({scenario.compliance}) | differences=0;1;;0;{len(found_here)}")


def test_the_check_warns_when_the_site_reported_otherwise(live_server, reference, check_host,
                                                          found_here):
    reported = {**{key: value for key, value in found_here.items() if value},
                "cvmfs": "no" if found_here["cvmfs"] == "yes" else "yes"}
    make_site("CHECKED-SITE", serves=("atlas",), **reported)
    status, line = run_check(live_server.url, "CHECKED-SITE", "atlas", check_host=check_host)
    assert status == 1
    assert line.startswith(f"WARNING - CHECKED-SITE reported otherwise: cvmfs: "
                           f"{reported['cvmfs']} → {found_here['cvmfs']} | differences=1;")


def test_the_check_warns_when_the_sites_report_is_stale(live_server, reference, check_host,
                                                        found_here):
    site = make_site("CHECKED-SITE", serves=("atlas",),
                     **{key: value for key, value in found_here.items() if value})
    reported_on(site, timezone.now() - datetime.timedelta(days=400))
    status, line = run_check(live_server.url, "CHECKED-SITE", "atlas", check_host=check_host)
    assert status == 1
    assert line.startswith("WARNING - CHECKED-SITE's report is stale")


def test_the_check_posts_with_a_token_and_is_critical_where_the_vo_finds_it_non_compliant(
        live_server, reference, check_host, found_here, django_user_model):
    if found_here["container_runtime"] != "none" or found_here["cvmfs"] == "yes":
        pytest.skip("this machine has a container runtime or CVMFS: CMS would not find it "
                    "non-compliant")
    site = make_site("CHECKED-SITE", serves=("cms",), container_runtime="apptainer",
                     container_runtime_version="1.3.4", unprivileged_userns="yes", cvmfs="yes")
    contact = django_user_model.objects.create_user("monitoring")
    site.contacts.add(contact)
    key = SiteToken.issue(site, "ETF check", contact)[1]

    status, line = run_check(live_server.url, "CHECKED-SITE", "cms", token=key,
                             check_host=check_host)

    assert status == 2, line
    assert line.startswith("CRITICAL - CHECKED-SITE is non-compliant, cms: not-isolated "
                           "(non_compliant)")
    stored = dict(CapabilityValue.objects.filter(site=site).values_list("capability__key",
                                                                        "value"))
    assert stored["container_runtime"] == "none"  # what this node found was posted


def test_the_check_is_critical_when_its_report_is_refused(live_server, reference, check_host):
    make_site("CHECKED-SITE", serves=("cms",))
    status, line = run_check(live_server.url, "CHECKED-SITE", "cms", token="wlcg_not-a-token",
                             check_host=check_host)
    assert status == 2
    assert line.startswith("CRITICAL - wlcgstatus refused the report (401)")


def test_the_check_is_unknown_when_wlcgstatus_cannot_be_reached_or_knows_no_such_site(
        live_server, reference, check_host):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    status, line = run_check(nowhere, "CHECKED-SITE", "cms", check_host=check_host)
    assert status == 3
    assert line.startswith(f"UNKNOWN - wlcgstatus cannot be reached at {nowhere}: ")

    status, line = run_check(live_server.url, "NO-SUCH-SITE", "cms", check_host=check_host)
    assert (status, line) == (3, "UNKNOWN - wlcgstatus does not know site NO-SUCH-SITE (404)")
