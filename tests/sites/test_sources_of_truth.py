"""CRIC and GOCDB as sources of truth side by side: a dry run validates as the import does,
CRIC's "NULL" is no value, each source owns its fields and has its own gone sites, CRIC's
state of a centre shows, GOCDB's two forms and pages are read, a fresh database imports, and
every run, scheduled or by hand, is kept for the WG's import runs page.

The files are under tests/sites/data/ (its README); the 2026 topology is the project's own
(fixtures/topology/), in CRIC's shape. Sources at a URL are served by a local HTTP server."""

import datetime
import functools
import http.server
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from experiments.models import Experiment
from sites.models import ExperimentSite, ImportRun, Site, SiteSource
from sites.tasks import import_from_cric
from sites.topology import cric_json

from ..factories.accounts import UserFactory
from ..helpers import browser
from .test_import import CRIC, GOCDB, snapshot

pytestmark = pytest.mark.usefixtures("reference")


def run(command: str, location, *options: str) -> str:
    out = io.StringIO()
    call_command(command, str(location), *options, stdout=out)
    return out.getvalue()


def cric_records() -> dict:
    return json.loads((CRIC / "base.json").read_text())


def write(path: Path, records) -> Path:
    path.write_text(json.dumps(records))
    return path


def listing(site: str, source: str) -> SiteSource:
    return SiteSource.objects.get(site__name=site, source=source)


@pytest.fixture
def served(tmp_path):
    """A local HTTP server of tmp_path's files: its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def base():
    run("import_cric", CRIC / "base.json")


# 1. A dry run validates exactly as the import does

@pytest.mark.parametrize("where", ["site", "experiment site"])
def test_a_dry_run_refuses_what_the_import_refuses_and_cuts_long_values(base, tmp_path, where):
    records = cric_records()
    long_name = "X" * 10_000
    if where == "site":
        records[long_name] = {**records["DESY-HH"], "name": long_name, "sites": []}
    else:
        records["DESY-HH"]["sites"].append({"name": long_name, "vo_name": "cms",
                                            "tier_level": 2})
    path = write(tmp_path / "cric.json", records)
    before = snapshot()

    errors = []
    for options in (["--dry-run"], []):
        with pytest.raises(CommandError) as refused:
            run("import_cric", path, *options)
        errors.append(str(refused.value))

    assert errors[0] == errors[1]
    assert "at most 100 characters" in errors[0]
    assert "… (10,000 characters)" in errors[0]
    assert len(errors[0]) < 300
    assert snapshot() == before


# 2. CRIC's NULL

def test_cric_null_is_no_value_and_the_real_topology_reimports_unchanged(tmp_path):
    path = tmp_path / "cric-2026.json"
    path.write_text(cric_json())

    first = run("import_cric", path)
    again = run("import_cric", path)

    assert "country NULL" not in first
    for name in ("HPC4L", "PSC-HPC", "TACC-Stampede2"):
        assert Site.objects.get(name=name).country == ""
    assert not Site.objects.filter(country="NULL").exists()
    assert "sites 0 added, 0 changed, 383 unchanged, 0 newly gone (kept)" in again
    assert "→" not in again
    page = browser().get("/sites/HPC4L/")
    assert "NULL" not in page.text


# 3. Two sources, no fight

def test_a_site_from_gocdb_is_never_gone_from_cric(base):
    run("import_gocdb", GOCDB / "sites.xml")

    output = run("import_cric", CRIC / "base.json")

    assert "Gone from CRIC" not in output
    assert "0 newly gone (kept), 0 back, 0 still gone" in output
    bern = Site.objects.get(name="BERNUNI-GRID")
    assert list(bern.sources.values_list("source", flat=True)) == ["GOCDB"]
    assert set(Site.objects.get(name="FZK-LCG2").sources.values_list("source", flat=True)) == {
        "CRIC", "GOCDB"}


def test_each_source_owns_its_fields(base, tmp_path):
    run("import_gocdb", GOCDB / "sites.xml")
    assert Site.objects.get(name="praguelcg2").country == "Czechia"

    # CRIC keeps its country, and a later CRIC import has nothing to flip back.
    assert "Changed site" not in run("import_cric", CRIC / "base.json")
    # Once CRIC no longer lists the site, GOCDB's word is the one left.
    records = cric_records()
    del records["praguelcg2"]
    run("import_cric", write(tmp_path / "cric.json", records))
    output = run("import_gocdb", GOCDB / "sites.xml")

    assert "Changed site praguelcg2: country Czechia → Czech Republic" in output
    assert Site.objects.get(name="praguelcg2").country == "Czech Republic"


# 4. Gone is a diff, with its day

def test_gone_newly_still_and_back_again(base):
    first = datetime.date(2026, 3, 2)
    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, tzinfo=datetime.UTC)):
        assert "Gone from CRIC: praguelcg2" in run("import_cric", CRIC / "changed.json")
    assert listing("praguelcg2", "CRIC").gone_since == first

    with time_machine.travel(datetime.datetime(2026, 3, 3, 12, tzinfo=datetime.UTC)):
        output = run("import_cric", CRIC / "changed.json")
    assert "Gone from CRIC" not in output
    assert "0 newly gone (kept), 0 back, 1 still gone" in output
    assert listing("praguelcg2", "CRIC").gone_since == first  # not the 3rd

    with time_machine.travel(datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC)):
        output = run("import_cric", CRIC / "base.json")
    assert f"Back in CRIC: praguelcg2, gone since {first}" in output
    assert "1 back, 0 still gone" in output  # (and IFCA-LCG2, new in changed.json, gone)
    assert listing("praguelcg2", "CRIC").gone_since is None
    page = browser().get("/sites/praguelcg2/")
    assert "Listed by CRIC since" in page.text


def test_a_file_that_would_make_most_sites_gone_is_refused_unless_allowed(base, tmp_path):
    records = cric_records()
    path = write(tmp_path / "cric.json", {"DESY-HH": records["DESY-HH"]})
    before = snapshot()

    with pytest.raises(CommandError, match="would make 5 of the 6 sites CRIC lists gone, more "
                                           r"than the 20% an import may"):
        run("import_cric", path)
    assert snapshot() == before
    assert ImportRun.objects.first().outcome == ImportRun.Outcome.FAILED

    output = run("import_cric", path, "--allow-gone")

    assert "5 newly gone (kept)" in output
    assert SiteSource.objects.filter(source="CRIC", gone_since__isnull=False).count() == 5


# 5. CRIC's state

def test_a_centre_cric_closes_is_shown_and_proposed_for_retirement(base, tmp_path, wg_member):
    records = cric_records()
    records["FZK-LCG2"]["cert_status"] = "closed"

    output = run("import_cric", write(tmp_path / "cric.json", records))

    assert ("CRIC state of FZK-LCG2: certified → closed (proposed for retirement: a WG member "
            "decides)") in output
    assert "1 proposed for retirement (CRIC state)" in output
    assert listing("FZK-LCG2", "CRIC").state == "closed"
    assert Site.objects.get(name="FZK-LCG2").retired_on is None  # the WG decides
    site_page = browser().get("/sites/FZK-LCG2/")
    assert "CRIC state: closed" in site_page.text
    assert "CRIC marks this site closed: proposed for retirement" in site_page.text
    runs_page = browser(wg_member).get("/imports/")
    assert runs_page.html.title.text.split("·")[0].strip() == "Imports"
    [box] = runs_page.html.select(".attention-box")
    proposed = box.text
    assert "FZK-LCG2" in proposed and "CRIC state closed" in proposed
    admin = browser(UserFactory(username="root", is_staff=True, is_superuser=True))
    listed = admin.get("/admin/sites/site/?proposed=yes").html.select("#result_list tbody tr")
    assert [row.select_one("th").text for row in listed] == ["FZK-LCG2"]


# 6. GOCDB's forms and pages; CRIC's 2019 layout

def test_gocdb_get_site_form_is_read_page_after_page_from_a_url(base, tmp_path, served):
    for page in ("get_site-page1.xml", "get_site-page2.xml"):
        (tmp_path / page).write_text((GOCDB / page).read_text())

    output = run("import_gocdb", served + "get_site-page1.xml")

    assert "Added site BERNUNI-GRID: country Switzerland, country_code CH" in output
    assert "Added site UNI-FREIBURG: country Germany, country_code DE" in output  # page 2
    assert "Skipped Basel Infrastructure: closed in GOCDB" in output
    assert "Now also in GOCDB: FZK-LCG2" in output
    assert Site.objects.get(name="UNI-FREIBURG").country_code == "DE"


def test_gocdb_pages_are_followed_from_a_file_too(base):
    output = run("import_gocdb", GOCDB / "get_site-page1.xml", "--dry-run")

    assert "sites 2 added" in output


def test_cric_2019_layout_is_read(tmp_path):
    output = run("import_cric", CRIC / "layout-2019.json")

    grif = Site.objects.get(name="GRIF")
    assert (grif.tier, grif.country_code) == (None, "FR")
    assert list(grif.federations.values_list("name", flat=True)) == ["FR-GRIF"]
    assert ExperimentSite.objects.get(experiment__slug="cms", name="T2_FR_GRIF").site == grif
    assert "sites 2 added" in output


def test_a_layout_neither_of_cric_says_which_is_expected(tmp_path):
    path = write(tmp_path / "cric.json", {"GRIF": {"name": "GRIF", "country": "France"}})

    with pytest.raises(CommandError, match="expected CRIC's resource-centre layout"):
        run("import_cric", path)


# 7. From nothing

def test_a_fresh_database_imports_directly(tmp_path):
    Experiment.objects.all().delete()  # as after `migrate` alone
    path = tmp_path / "cric-2026.json"
    path.write_text(cric_json())

    output = run("import_cric", path)

    assert "Loaded the WG's reference data (experiments, policies): this database had none" \
        in output
    assert set(Experiment.objects.values_list("slug", flat=True)) == {
        "alice", "atlas", "cms", "lhcb"}
    assert ExperimentSite.objects.get(name="T1_DE_KIT").site.name == "FZK-LCG2"


# 8. In sync by itself; every run kept

def test_the_daily_task_imports_from_cric_url_and_keeps_the_run(tmp_path, served):
    (tmp_path / "cric.json").write_text((CRIC / "base.json").read_text())

    with override_settings(CRIC_URL=served + "cric.json"):
        assert import_from_cric.delay().get() == ImportRun.Outcome.APPLIED

    run_ = ImportRun.objects.get()
    assert (run_.source, run_.trigger, run_.location) == ("CRIC", "schedule",
                                                         served + "cric.json")
    assert run_.summary.startswith("Imported from CRIC: sites 6 added")
    assert "Added site DESY-HH: tier 2, country Germany, country_code DE, federations " \
           "DE-DESY-ATLAS-T2, DE-DESY-LHCB, DE-DESY-RWTH-CMS-T2" in run_.lines
    assert Site.objects.count() == 6


def test_a_failed_run_says_why_on_the_page_and_changes_nothing(base, served, wg_member):
    before = snapshot()

    with override_settings(CRIC_URL=served + "missing.json"):
        assert import_from_cric.delay().get() == ImportRun.Outcome.FAILED

    assert snapshot() == before
    page = browser(wg_member).get("/imports/")
    row = page.html.select_one(".import-runs tbody tr")
    assert "failed, nothing changed" in row.text
    assert "HTTP Error 404" in row.text


def test_beat_imports_daily_only_when_cric_url_is_set():
    """The schedule as the settings build it from the environment, in a process of its own."""
    answers = []
    for url in ("", "https://cric.example.org/api/core/rcsite/query/?json"):
        completed = subprocess.run(
            [sys.executable, "-c", "from wlcgstatus import settings; "
             "print('import-cric-daily' in settings.CELERY_BEAT_SCHEDULE)"],
            capture_output=True, text=True, check=True, cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "ENV_FILE": "/dev/null", "DEBUG": "True",
                 "CRIC_URL": url})
        answers.append(completed.stdout.strip())
    assert answers == ["False", "True"]


def test_wg_members_start_an_import_on_the_runs_page(tmp_path, served, wg_member):
    (tmp_path / "cric.json").write_text((CRIC / "base.json").read_text())
    wendy = browser(wg_member)

    with override_settings(CRIC_URL=served + "cric.json"):
        form = wendy.get("/imports/").forms[1]
        form["dry_run"] = True
        page = form.submit().follow()

    assert "The CRIC import ran" in page.text
    run_ = ImportRun.objects.get()
    assert (run_.trigger, run_.started_by, run_.outcome) == ("page", wg_member, "dry-run")
    assert not Site.objects.exists()
    assert "Dry run of the CRIC import, nothing changed: sites 6 added" in page.text


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("contact", 403),
                                            ("wg member", 200)])
def test_only_wg_members_see_the_runs(who, status, contact_a, wg_member):
    user = {"anonymous": None, "contact": contact_a, "wg member": wg_member}[who]
    visitor = browser(user)

    assert visitor.get("/imports/", expect_errors=True).status_code == status
    assert visitor.post("/imports/", expect_errors=True).status_code in {302, 403}
    assert not ImportRun.objects.exists()
