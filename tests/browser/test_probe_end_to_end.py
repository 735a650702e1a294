"""The capability probe, run as a site would run it, reporting to a live server."""

import subprocess
import sys
from pathlib import Path

import pytest

from sites.models import Assessment, CapabilityValue, SiteToken
from wlcgstatus.probe import wlcg_capability_probe as probe

from ..factories.sites import make_site

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
