"""Importing sites from WLCG CRIC and GOCDB: an update with a visible diff, never a reload.

The files under tests/data/ (see its README) hold real WLCG topology, a few invented changes
and malformed variants; `changed.json` is `base.json` with one change of each kind.
"""

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from sites.importers import cric
from sites.models import Assessment, ExperimentSite, Site

from ..factories.accounts import UserFactory

DATA = Path(__file__).parent / "data"
CRIC = DATA / "cric"
GOCDB = DATA / "gocdb"

pytestmark = pytest.mark.usefixtures("reference")


def run(command: str, path: Path, *options: str) -> str:
    out = io.StringIO()
    call_command(command, str(path), *options, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything an import may touch, to compare before and after."""
    return {
        "sites": sorted(Site.objects.values_list(
            "name", "tier", "country", "country_code", "retired_on")),
        "federations": sorted(Site.federations.through.objects.values_list(
            "site__name", "federation__name")),
        "names": sorted(ExperimentSite.objects.values_list(
            "experiment__slug", "name", "site__name", "tier")),
        "history": (Site.history.count(), ExperimentSite.history.count()),
        "assessments": sorted(Assessment.objects.values_list(
            "site__name", "experiment__slug", "scenario_id")),
    }


def cric_file(tmp_path: Path, change) -> Path:
    """changed.json with one more change made by `change(records)`."""
    records = json.loads((CRIC / "changed.json").read_text())
    change(records)
    path = tmp_path / "cric.json"
    path.write_text(json.dumps(records))
    return path


def name_of(slug: str, name: str) -> ExperimentSite:
    return ExperimentSite.objects.select_related("site").get(experiment__slug=slug, name=name)


@pytest.fixture
def base():
    """The six sites of base.json, imported."""
    run("import_cric", CRIC / "base.json")


# CRIC

def test_first_import_adds_sites_with_tiers_countries_federations_and_names():
    output = run("import_cric", CRIC / "base.json")

    assert ("sites 6 added, 0 changed, 0 unchanged, 0 newly gone (kept), 0 back, 0 still gone; "
            "experiment names 37 added") in output
    desy = Site.objects.get(name="DESY-HH")
    assert (desy.tier, desy.country, desy.country_code) == (2, "Germany", "DE")
    assert sorted(desy.federations.values_list("name", flat=True)) == [
        "DE-DESY-ATLAS-T2", "DE-DESY-LHCB", "DE-DESY-RWTH-CMS-T2"]
    # The experiment's tier is its own: QMUL is a WLCG tier 2 and a CMS tier 3.
    assert Site.objects.get(name="UKI-LT2-QMUL").tier == 2
    assert name_of("cms", "T3_UK_London_QMUL").tier == 3
    fzk_alice = ExperimentSite.objects.filter(site__name="FZK-LCG2", experiment__slug="alice")
    assert fzk_alice.count() == 5


def test_the_same_data_again_changes_nothing(base):
    before = snapshot()

    output = run("import_cric", CRIC / "base.json")

    assert ("sites 0 added, 0 changed, 6 unchanged, 0 newly gone (kept), 0 back, 0 still gone; "
            "experiment names 0 added, 0 moved, 0 renamed, 0 tier changed, 0 removed.") in output
    assert snapshot() == before


def test_a_new_site_is_added_with_its_names(base):
    output = run("import_cric", CRIC / "changed.json")

    assert "Added site IFCA-LCG2: tier 2, country Spain, country_code ES, federations ES-CMS-T2" \
        in output
    assert "Added cms name T2_ES_IFCA at IFCA-LCG2 (tier 2)" in output
    assert name_of("cms", "T2_ES_IFCA").site.name == "IFCA-LCG2"


def test_a_changed_tier_is_updated(base):
    output = run("import_cric", CRIC / "changed.json")

    assert "Changed site DESY-HH: tier 2 → 1" in output
    assert Site.objects.get(name="DESY-HH").tier == 1


def test_a_renamed_experiment_name_is_the_same_name_renamed(base):
    before = name_of("cms", "T3_UK_London_QMUL")

    output = run("import_cric", CRIC / "changed.json")

    assert "Renamed cms name T3_UK_London_QMUL → T2_UK_London_QMUL at UKI-LT2-QMUL, tier 3 → 2" \
        in output
    after = name_of("cms", "T2_UK_London_QMUL")
    assert (after.pk, after.site.name, after.tier) == (before.pk, "UKI-LT2-QMUL", 2)
    assert not ExperimentSite.objects.filter(name="T3_UK_London_QMUL").exists()


def test_a_name_that_moved_to_another_site_follows_it(base):
    before = name_of("alice", "GRIF_IPNO_IJCLAB")

    output = run("import_cric", CRIC / "changed.json")

    assert "Moved alice name GRIF_IPNO_IJCLAB from GRIF to IN2P3-CC" in output
    after = name_of("alice", "GRIF_IPNO_IJCLAB")
    assert (after.pk, after.site.name) == (before.pk, "IN2P3-CC")


def test_a_name_gone_from_a_listed_site_is_removed_and_said_so(base):
    output = run("import_cric", CRIC / "changed.json")

    assert "Removed alice name FZK_ARC from FZK-LCG2: gone from CRIC" in output
    assert not ExperimentSite.objects.filter(name="FZK_ARC").exists()
    fzk_alice = ExperimentSite.objects.filter(site__name="FZK-LCG2", experiment__slug="alice")
    assert fzk_alice.count() == 4


def test_a_site_gone_from_cric_is_listed_and_kept_with_its_names(base):
    output = run("import_cric", CRIC / "changed.json")

    assert "Gone from CRIC: praguelcg2 (kept until a WG member retires it)" in output
    assert ("sites 1 added, 1 changed, 4 unchanged, 1 newly gone (kept), 0 back, 0 still gone; "
            "experiment names 1 added, 1 moved, 1 renamed, 0 tier changed, 1 removed.") in output
    prague = Site.objects.get(name="praguelcg2")
    assert (prague.tier, prague.retired_on) == (2, None)
    assert sorted(prague.experiment_sites.values_list("name", flat=True)) == ["Prague",
                                                                             "praguelcg2"]


def test_a_wg_member_retires_a_gone_site_in_the_admin_and_it_keeps_its_data(base, client):
    run("import_cric", CRIC / "changed.json")
    staff = UserFactory(username="wanda", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="sites", codename__in=["view_site", "change_site"]))
    client.force_login(staff)
    prague = Site.objects.get(name="praguelcg2")
    changelist = reverse("admin:sites_site_changelist")
    assert "Retire the selected sites" in client.get(changelist).text

    response = client.post(changelist, {"action": "retire_sites", "_selected_action": [prague.pk]})

    assert response.status_code == 302
    prague.refresh_from_db()
    assert prague.retired_on == timezone.localdate()
    assert (prague.tier, prague.country) == (2, "Czechia")
    assert prague.experiment_sites.count() == 2
    assert prague.history.first().history_change_reason == "Retired by wanda"
    # Gone since the last import, it is no longer listed as newly gone: only counted.
    output = run("import_cric", CRIC / "changed.json")
    assert "Gone from CRIC" not in output
    assert "0 newly gone (kept), 0 back, 1 still gone" in output


def test_a_retired_site_back_in_cric_is_listed_and_left_retired(base):
    run("import_cric", CRIC / "changed.json")
    Site.objects.filter(name="praguelcg2").update(retired_on=timezone.localdate())

    output = run("import_cric", CRIC / "base.json")

    today = timezone.localdate()
    assert f"Back in CRIC: praguelcg2, gone since {today}" in output
    assert (f"Listed by CRIC: praguelcg2, retired on {today} (left retired: a WG member "
            "decides)") in output
    assert Site.objects.get(name="praguelcg2").retired_on == timezone.localdate()


def test_a_dry_run_prints_the_diff_and_changes_nothing(base):
    before = snapshot()

    output = run("import_cric", CRIC / "changed.json", "--dry-run")

    for line in ["Added site IFCA-LCG2: tier 2, country Spain, country_code ES, "
                 "federations ES-CMS-T2",
                 "Changed site DESY-HH: tier 2 → 1",
                 "Added cms name T2_ES_IFCA at IFCA-LCG2 (tier 2)",
                 "Moved alice name GRIF_IPNO_IJCLAB from GRIF to IN2P3-CC",
                 "Renamed cms name T3_UK_London_QMUL → T2_UK_London_QMUL at UKI-LT2-QMUL, "
                 "tier 3 → 2",
                 "Removed alice name FZK_ARC from FZK-LCG2: gone from CRIC",
                 "Gone from CRIC: praguelcg2 (kept until a WG member retires it)",
                 "Dry run of the CRIC import, nothing changed: sites 1 added, 1 changed"]:
        assert line in output
    assert snapshot() == before


@pytest.mark.parametrize(("file", "error"), [
    ("malformed.json", "CRIC data is not valid JSON: "),
    ("missing-field.json", 'CRIC record "GRIF": missing field "country"'),
    ("unknown-tier.json", 'CRIC record "FZK-LCG2": unknown tier "7"'),
])
def test_a_malformed_file_changes_nothing_and_names_the_record(base, file, error):
    before = snapshot()

    with pytest.raises(CommandError, match=error):
        run("import_cric", CRIC / file)

    assert snapshot() == before
    assert not Site.objects.filter(name="IFCA-LCG2").exists()


def test_an_unknown_experiment_changes_nothing_and_names_the_record(base, tmp_path):
    def dune(records):
        records["IFCA-LCG2"]["sites"].append(
            {"name": "IFCA-DUNE", "vo_name": "dune", "tier_level": 2})
    before = snapshot()

    with pytest.raises(CommandError, match='CRIC record "IFCA-LCG2": unknown experiment "dune"'):
        run("import_cric", cric_file(tmp_path, dune))

    assert snapshot() == before


def test_a_name_given_to_two_sites_is_refused(base, tmp_path):
    def twice(records):
        records["IFCA-LCG2"]["sites"].append(
            {"name": "T2_DE_DESY", "vo_name": "cms", "tier_level": 2})
    before = snapshot()

    with pytest.raises(CommandError, match='CRIC record "IFCA-LCG2": cms name "T2_DE_DESY" is '
                                           'also given to "DESY-HH"'):
        run("import_cric", cric_file(tmp_path, twice))

    assert snapshot() == before


def test_the_list_form_of_the_query_reads_as_the_object_form():
    text = (CRIC / "base.json").read_text()

    as_list = cric.parse(json.dumps(list(json.loads(text).values())))

    assert as_list == cric.parse(text)
    assert len(as_list.records) == 6


def test_a_record_refused_halfway_rolls_back_the_whole_import(base, tmp_path):
    """IFCA-LCG2 is added before QMUL's three-letter country code is refused."""
    def three_letters(records):
        records["UKI-LT2-QMUL"]["country_code"] = "GBR"
    before = snapshot()

    with pytest.raises(CommandError, match='CRIC record "UKI-LT2-QMUL": country_code: '):
        run("import_cric", cric_file(tmp_path, three_letters))

    assert snapshot() == before
    assert not Site.objects.filter(name="IFCA-LCG2").exists()


def test_an_unreadable_source_is_an_error():
    with pytest.raises(CommandError, match=r"Cannot read .*nowhere\.json"):
        run("import_cric", CRIC / "nowhere.json")


def test_cric_placeholder_for_sites_without_a_centre_is_no_site(tmp_path):
    records = json.loads((CRIC / "base.json").read_text())
    records["NULL"] = {"name": "NULL", "rc_tier_level": 3, "country": "NULL",
                       "country_code": "", "federations": ["NON-MOU-Federation"],
                       "sites": [{"name": "T3_BR_UFRGS", "vo_name": "cms", "tier_level": 3}]}
    path = tmp_path / "cric.json"
    path.write_text(json.dumps(records))

    output = run("import_cric", path)

    assert "Skipped NULL" in output
    assert not Site.objects.filter(name="NULL").exists()
    assert not ExperimentSite.objects.filter(name="T3_BR_UFRGS").exists()


# History and assessments

def test_an_import_is_in_the_sites_history(base):
    run("import_cric", CRIC / "changed.json")

    desy = Site.objects.get(name="DESY-HH")
    latest, previous = desy.history.all()[:2]
    assert (previous.tier, latest.tier) == (2, 1)
    assert latest.history_change_reason == "Import from CRIC"
    # A new site is created, then given its federations: both recorded as the import.
    ifca = Site.objects.get(name="IFCA-LCG2").history.order_by("history_id")
    assert [(record.history_type, record.history_change_reason) for record in ifca] == [
        ("+", "Import from CRIC"), ("~", "Import from CRIC")]
    assert [f.federation.name for f in ifca.last().federations.all()] == ["ES-CMS-T2"]
    renamed = name_of("cms", "T2_UK_London_QMUL").history.first()
    assert (renamed.history_type, renamed.history_change_reason) == ("~", "Import from CRIC")
    removed = ExperimentSite.history.filter(name="FZK_ARC").first()
    assert (removed.history_type, removed.history_change_reason) == ("-", "Import from CRIC")


def test_a_new_site_serving_cms_is_assessed(base):
    assert not Assessment.objects.filter(site__name="IFCA-LCG2").exists()

    run("import_cric", CRIC / "changed.json")

    assessment = Assessment.objects.get(site__name="IFCA-LCG2")
    assert assessment.experiment.slug == "cms"
    assert assessment.reason


def test_a_site_whose_only_cms_name_moved_away_is_no_longer_assessed_for_cms(base, tmp_path):
    def move_desy_cms_name(records):
        name = next(item for item in records["DESY-HH"]["sites"] if item["vo_name"] == "cms")
        records["DESY-HH"]["sites"].remove(name)
        records["FZK-LCG2"]["sites"].append(name)
    assert Assessment.objects.filter(site__name="DESY-HH", experiment__slug="cms").exists()

    run("import_cric", cric_file(tmp_path, move_desy_cms_name))

    assert name_of("cms", "T2_DE_DESY").site.name == "FZK-LCG2"
    assert not Assessment.objects.filter(site__name="DESY-HH", experiment__slug="cms").exists()


def test_a_site_whose_only_lhcb_name_is_removed_is_no_longer_assessed_for_lhcb(
        base, tmp_path, django_capture_on_commit_callbacks):
    def remove_desy_lhcb_name(records):
        records["DESY-HH"]["sites"] = [item for item in records["DESY-HH"]["sites"]
                                       if item["vo_name"] != "lhcb"]
    assert Assessment.objects.filter(site__name="DESY-HH", experiment__slug="lhcb").exists()

    with django_capture_on_commit_callbacks(execute=True):
        run("import_cric", cric_file(tmp_path, remove_desy_lhcb_name))

    assert not Assessment.objects.filter(site__name="DESY-HH", experiment__slug="lhcb").exists()


# GOCDB

def test_gocdb_adds_the_sites_cric_does_not_cover_and_leaves_cric_its_fields(base):
    output = run("import_gocdb", GOCDB / "sites.xml")

    assert "Added site BERNUNI-GRID: country Switzerland, country_code CH" in output
    assert "Now also in GOCDB: praguelcg2" in output
    assert "Skipped Basel Infrastructure: closed in GOCDB" in output
    # GOCDB never had the sites only CRIC lists: they are not gone from it.
    assert "Gone" not in output
    # CRIC lists praguelcg2: its country is CRIC's, whatever GOCDB calls it.
    assert "Changed site" not in output
    assert output.rstrip().endswith(
        "Imported from GOCDB: sites 1 added, 0 changed, 2 unchanged, 0 newly gone (kept), "
        "0 back, 0 still gone.")
    bern = Site.objects.get(name="BERNUNI-GRID")
    assert (bern.tier, bern.country_code, bern.federations.count()) == (None, "CH", 0)
    assert not Site.objects.filter(name="Basel Infrastructure").exists()
    # GOCDB has no tiers, federations or experiment names: those stay CRIC's.
    prague = Site.objects.get(name="praguelcg2")
    assert (prague.country, prague.tier) == ("Czechia", 2)
    assert prague.federations.get().name == "CZ-Prague-T2"
    assert prague.experiment_sites.count() == 2


def test_gocdb_dry_run_changes_nothing(base):
    before = snapshot()

    output = run("import_gocdb", GOCDB / "sites.xml", "--dry-run")

    assert "Added site BERNUNI-GRID" in output
    assert "Dry run of the GOCDB import, nothing changed" in output
    assert snapshot() == before


def test_gocdb_record_without_a_country_changes_nothing_and_names_the_record(base):
    before = snapshot()

    with pytest.raises(CommandError, match='GOCDB record "praguelcg2": missing "COUNTRY" '
                                           r'\(as attributes or child elements\)'):
        run("import_gocdb", GOCDB / "missing-country.xml")

    assert snapshot() == before


@pytest.mark.parametrize(("text", "error"), [
    ("<results><SITE NAME='BERNUNI-GRID'", "GOCDB data is not valid XML"),
    ("<!DOCTYPE results [<!ENTITY a 'a'>]><results>&a;</results>", "GOCDB data refused"),
    ("<sites/>", "GOCDB data is not a site list"),
])
def test_gocdb_malformed_xml_is_refused(base, tmp_path, text, error):
    path = tmp_path / "gocdb.xml"
    path.write_text(text)
    before = snapshot()

    with pytest.raises(CommandError, match=error):
        run("import_gocdb", path)

    assert snapshot() == before
