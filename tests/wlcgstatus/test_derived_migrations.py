"""Migration progress follows the reports: a step defined by the scenarios it is done in is
derived with every recomputation and dated from the history; every site serving the
experiment takes part; steps no report can show are recorded by hand by WG members, and
marked so; targets may name an LHC period."""

from __future__ import annotations

import datetime

from sites.models import SiteMigration
from sites.updates import record_capabilities

from ..factories.sites import make_site
from ..helpers import (
    browser,
    fill,
    get_ok,
    on,
    page_form,
    page_text,
    signed_in,
    soup,
    story_day,
    text_of,
)

SINGULARITY = "/experiments/cms/migrations/singularity-rollout/"
JALIEN = "/experiments/alice/migrations/alien-to-jalien/"


def migration_rows(response) -> dict[str, str]:
    """The site page's migrations table: migration → what it says of the site."""
    table = soup(response).find("h2", string="Migrations").find_next("table")
    return {text_of(row.find("td")): text_of(row.find_all("td")[1])
            for row in table.select("tbody tr")}


def progress_of(site, slug: str) -> tuple[str, datetime.date] | None:
    state = (SiteMigration.objects.select_related("completed_step")
             .filter(site=site, migration__slug=slug).first())
    if state is None:
        return None
    return (state.completed_step.name if state.completed_step else "", state.updated_on)


def test_a_site_assessed_isolated_has_done_the_singularity_step(client, reference):
    with on(story_day(1)):
        isolated = make_site("ISOLATED", serves=("cms",), container_runtime="singularity")
        make_site("BARE", serves=("cms",), container_runtime="none")

    rows = migration_rows(get_ok(client, "/sites/ISOLATED/"))
    assert rows["CMS: Singularity at every CMS site"] == (
        "Singularity provided to the pilots follows the CMS assessment")
    assert progress_of(isolated, "singularity-rollout") == (
        "Singularity provided to the pilots", story_day(1))
    page = page_text(get_ok(client, SINGULARITY))
    assert "Singularity provided to the pilots 1 / 2" in page
    assert ("Singularity provided to the pilots: done where a site reports Container runtime "
            "is one of singularity or apptainer (derived).") in page


def test_progress_follows_a_changed_report_dated_when_it_changed(reference):
    with on(story_day(1)):
        site = make_site("CHANGING", serves=("cms",), container_runtime="none")
    assert progress_of(site, "singularity-rollout") == ("", story_day(1))
    with on(story_day(5)):
        record_capabilities(site, {"container_runtime": "apptainer"})
    assert progress_of(site, "singularity-rollout") == (
        "Singularity provided to the pilots", story_day(5))
    with on(story_day(9)):
        record_capabilities(site, {"container_runtime": "none"})
    assert progress_of(site, "singularity-rollout") == ("", story_day(9))


def test_every_site_serving_the_experiment_takes_part(client, reference):
    make_site("NEW-ALICE", serves=("alice",))

    rows = migration_rows(get_ok(client, "/sites/NEW-ALICE/"))
    assert rows["ALICE: AliEn → JAliEn"] == "not started recorded by hand"
    page = page_text(get_ok(client, JALIEN))
    assert "AliEn → JAliEn 1 site" in page
    assert "1 more site serving ALICE has no progress recorded: not started." in page


def test_a_wg_member_records_a_step_no_report_shows(wg_member, reference):
    site = make_site("ALICE-SITE", serves=("alice",))
    wendy = browser(wg_member)
    page = wendy.get("/sites/ALICE-SITE/")
    form_page = page.click("Record progress")
    form = page_form(form_page)

    response = fill(form, {"completed_step": form["completed_step"].options[2][0],
                           "reason": "JAliEn VOBox seen in MonALISA"}).submit().follow()

    assert "AliEn → JAliEn at ALICE-SITE: All jobs run by JAliEn Job Agents" in \
        page_text(response)
    rows = migration_rows(response)
    assert rows["ALICE: AliEn → JAliEn"].startswith(
        "All jobs run by JAliEn Job Agents, AliEn retired recorded by hand by Wendy Gee")
    assert progress_of(site, "alien-to-jalien")[0] == (
        "All jobs run by JAliEn Job Agents, AliEn retired")
    history = page_text(wendy.get("/sites/ALICE-SITE/history/"))
    assert "Recorded by Wendy Gee: JAliEn VOBox seen in MonALISA" in history


def test_only_wg_members_record_progress_and_only_of_migrations_kept_by_hand(
        contact_a, site_a, wg_member, reference):
    make_site("ALICE-SITE", serves=("alice",))
    url = "/sites/ALICE-SITE/migrations/alice/alien-to-jalien/"
    assert signed_in(contact_a).post(url, {"reason": "x"}).status_code == 403
    derived = "/sites/SITE-A/migrations/cms/singularity-rollout/"
    response = signed_in(wg_member).get(derived)
    assert response.status_code == 403
    assert "follows the site's assessments" in page_text(response)
    assert not SiteMigration.objects.filter(recorded_by__isnull=False).exists()


def test_a_target_names_its_lhc_period(client, reference):
    make_site("NEW-ALICE", serves=("alice",))
    page = page_text(get_ok(client, JALIEN))
    assert "target LS2 (to 4 Jul 2022) (overdue)" in page
    assert "JAliEn services deployed at the site: recorded by hand by the WG; target LS2" in page


def test_a_step_defined_by_a_report_follows_the_report_whatever_the_scenario(reference):
    # An HPC site is production only for CMS (a standing exception), yet it does provide
    # Singularity: the rollout step asks what the site reports, not its scenario.
    hpc = make_site("HPC-SING", kind="hpc", serves=("cms", "lhcb"),
                    container_runtime="singularity")
    assert progress_of(hpc, "singularity-rollout")[0] == "Singularity provided to the pilots"
    # LHCb's steps ask for scenarios: the whole pilot in a container, not yet the payloads.
    assert progress_of(hpc, "container-isolation")[0] == "Whole pilot isolated with Singularity"
