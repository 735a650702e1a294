"""The policy workbench as WG members use it: a change to an experiment's rules, exception
kinds, plan or the scenarios is tried on the whole fleet first (the dry run, nothing written),
then saved with a reason as a numbered revision that every assessment names. Site contacts
and anonymous visitors can do none of it."""

from __future__ import annotations

import csv
import io

import pytest

from experiments.models import (
    CapabilityDefinition,
    ExceptionKind,
    LHCPeriod,
    Migration,
    PolicyRevision,
    PolicyRule,
    Scenario,
)
from sites.models import Assessment, AssessmentChange, SiteMigration
from sites.recompute import recompute

from ..factories.sites import make_site
from ..helpers import (
    assert_sent_to_sign_in,
    browser,
    fill,
    page_form,
    page_text,
    scenario_of,
    signed_in,
)

RULE_1 = "/experiments/cms/policy/rules/1/"

# Every workbench page, with what a WG member could validly post there.
WORKBENCH = [
    "/experiments/cms/policy/plan/",
    "/experiments/cms/policy/rules/new/",
    "/experiments/cms/policy/rules/order/",
    RULE_1,
    "/experiments/cms/policy/rules/2/remove/",
    "/experiments/cms/policy/exceptions/new/",
    "/experiments/cms/policy/exceptions/singularity-transition/",
    "/scenarios/new/",
    "/scenarios/not-isolated/edit/",
    "/experiments/cms/policy/migrations/new/",
    "/experiments/cms/policy/migrations/singularity-rollout/",
]
ROLLOUT = "/experiments/cms/policy/migrations/singularity-rollout/"
JALIEN = "/experiments/alice/policy/migrations/alien-to-jalien/"


@pytest.fixture
def fleet(site_a, site_b):
    """Two CMS sites: SITE-A without a container runtime (not isolated), SITE-B with
    Singularity (isolated); and a third, SITE-C, with Apptainer."""
    site_c = make_site("SITE-C", serves=("cms",), container_runtime="apptainer",
                       container_runtime_version="1.3.0", cvmfs="yes")
    return site_a, site_b, site_c


def dry_run(page, entries: dict, **filters):
    """Enter the change and press Dry run (and filter its list, where asked)."""
    form = fill(page_form(page), entries)
    for name, value in filters.items():
        form[f"show-{name}"] = value
    return form.submit("action", value="dry-run")


def singularity_dropped(wg_member):
    """A WG member's dry run of CMS rule 1 tested for Apptainer only."""
    app = browser(wg_member)
    return dry_run(app.get(RULE_1), {"conditions-0-value": "apptainer"})


# --- who may ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", WORKBENCH)
def test_anonymous_visitors_are_sent_to_sign_in(client, reference, url):
    assert_sent_to_sign_in(client.get(url), url)
    assert_sent_to_sign_in(client.post(url, {"action": "save"}), url)


@pytest.mark.parametrize("url", WORKBENCH)
def test_site_contacts_may_not_change_the_policy(contact_a, url):
    client = signed_in(contact_a)
    revisions = PolicyRevision.objects.count()

    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "save", "save-reason": "mine"}).status_code == 403
    assert PolicyRevision.objects.count() == revisions


@pytest.mark.parametrize("url", WORKBENCH)
def test_wg_members_open_every_workbench_page(wg_member, url):
    page = browser(wg_member).get(url)

    assert page.status_code == 200
    assert "Dry run" in page.text


def test_the_experiment_page_links_the_workbench_for_wg_members_only(wg_member, contact_a):
    for user, shown in ((wg_member, True), (contact_a, False)):
        page = browser(user).get("/experiments/cms/")
        assert (RULE_1 in page.text) is shown
        assert ("/experiments/cms/policy/rules/new/" in page.text) is shown


# --- the dry run --------------------------------------------------------------------------------

def test_the_dry_run_shows_each_site_that_would_change_and_writes_nothing(wg_member, fleet):
    assessments = list(Assessment.objects.values_list("site", "scenario", "computed_at"))

    page = singularity_dropped(wg_member)

    changed = page.html.select("table.changed-sites tbody tr")
    assert [row.td.get_text(" ", strip=True).split()[0] for row in changed] == ["SITE-B"]
    old, new = (badge["title"] for badge in changed[0].select(".badge"))
    assert (old, new) == (Scenario.objects.get(slug="containers-isolate-payloads").name,
                          Scenario.objects.get(slug="not-isolated").name)
    text = page_text(page)
    assert "1 site would change" in text
    classes = {tuple(cell.get_text(strip=True) for cell in row.find_all("td"))[1:]
               for row in page.html.select("table.classes tbody tr")}
    assert ("Target", "2", "1", "-1") in classes
    assert ("Non-compliant", "1", "2", "+1") in classes
    assert list(Assessment.objects.values_list("site", "scenario", "computed_at")) == assessments
    assert PolicyRule.objects.get(experiment__slug="cms", position=1).conditions.get().value \
        == "singularity, apptainer"


def test_the_dry_run_list_filters_and_exports_as_csv(wg_member, fleet):
    app = browser(wg_member)
    # Only sites without a runtime isolated: every one of the three changes.
    page = dry_run(app.get(RULE_1), {"conditions-0-value": "none"})
    assert len(page.html.select("table.changed-sites tbody tr")) == 3

    filtered = dry_run(page, {}, q="site-c")
    assert [row.td.get_text(" ", strip=True).split()[0]
            for row in filtered.html.select("table.changed-sites tbody tr")] == ["SITE-C"]

    export = page_form(filtered).submit("action", value="export")
    assert export.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(row["site"], row["compliance now"], row["compliance proposed"]) for row in rows] \
        == [("SITE-C", "Target", "Non-compliant")]


def test_invalid_entries_are_explained_and_kept(wg_member, fleet):
    page = dry_run(browser(wg_member).get(RULE_1),
                   {"summary": "", "conditions-0-value": "docker"})

    assert "This field is required." in page_text(page)
    assert page_form(page)["conditions-0-value"].value == "docker"
    assert not page.html.select("table.changed-sites")


# --- saving -------------------------------------------------------------------------------------

def test_a_save_needs_a_reason_and_keeps_the_entries(wg_member, fleet):
    page = singularity_dropped(wg_member)

    page = page_form(page).submit("action", value="save")

    assert "This field is required." in page_text(page)
    assert page_form(page)["conditions-0-value"].value == "apptainer"
    assert PolicyRule.objects.get(experiment__slug="cms", position=1).conditions.get().value \
        == "singularity, apptainer"


def test_a_save_is_of_what_the_dry_run_showed(wg_member, fleet):
    page = singularity_dropped(wg_member)
    form = fill(page_form(page), {"conditions-0-value": "singularity",
                                  "save-reason": "changed my mind"})

    page = form.submit("action", value="save")

    assert "The entries changed after the dry run" in page_text(page)
    assert PolicyRule.objects.get(experiment__slug="cms", position=1).conditions.get().value \
        == "singularity, apptainer"
    # The dry run now shown is of the new entries: saving them is one press away.
    page = page_form(page).submit("action", value="save")
    assert page.status_code == 302


def test_a_save_makes_a_revision_that_the_assessments_and_history_name(
        wg_member, fleet, django_capture_on_commit_callbacks):
    site_b = fleet[1]
    page = fill(page_form(singularity_dropped(wg_member)),
                {"save-reason": "Singularity is retired at CMS sites"})

    with django_capture_on_commit_callbacks(execute=True):
        done = page.submit("action", value="save")

    assert done.status_code == 302 and done["Location"] == "/experiments/cms/"
    revision = PolicyRevision.objects.filter(experiment__slug="cms").first()
    assert revision.number == 2 and revision.made_by == wg_member
    assert revision.reason == "Singularity is retired at CMS sites"
    assert "Saved as CMS policy r2." in page_text(done.follow())
    assert scenario_of(site_b, "cms") == "not-isolated"
    assessment = Assessment.objects.get(site=site_b, experiment__slug="cms")
    assert assessment.decided_by == "CMS policy r2, rule 2"
    change = AssessmentChange.objects.filter(site=site_b).latest("id")
    assert change.revision == revision
    site_page = page_text(browser().get(site_b.get_absolute_url()))
    assert "CMS policy r2, rule 2" in site_page
    history = page_text(browser().get(f"{site_b.get_absolute_url()}history/"))
    assert "CMS policy r2" in history
    api = browser().get(f"/api/assessments/?site={site_b.name}&experiment=cms").json
    assert [row["decided_by"] for row in api["results"]] == ["CMS policy r2, rule 2"]
    export = browser().get("/sites/?experiment=cms&_export=csv")
    rows = {row["Site"]: row for row in csv.DictReader(io.StringIO(export.text))}
    assert rows["SITE-B"]["CMS decided by"] == "CMS policy r2, rule 2"
    assert rows["SITE-C"]["CMS decided by"] == "CMS policy r2, rule 1"


def test_the_dry_run_counts_what_the_save_then_stores(wg_member, fleet,
                                                      django_capture_on_commit_callbacks):
    page = singularity_dropped(wg_member)
    proposed = {(row.find_all("td")[1].get_text(strip=True),
                 int(row.find_all("td")[3].get_text(strip=True)))
                for row in page.html.select("table.classes tbody tr")}
    assert proposed
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "try"}).submit("action", value="save")

    stored = Assessment.objects.filter(experiment__slug="cms").select_related("scenario")
    counted: dict[str, int] = {}
    for assessment in stored:
        counted[assessment.compliance.label] = counted.get(assessment.compliance.label, 0) + 1
    assert proposed == set(counted.items())


def test_the_revision_page_shows_who_why_and_the_diff(wg_member, fleet,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(singularity_dropped(wg_member)),
             {"save-reason": "Apptainer only"}).submit("action", value="save")

    page = browser().get("/experiments/cms/")
    assert "/experiments/cms/revisions/2/" in page.text
    revision = page.click(href="/experiments/cms/revisions/2/")
    text = page_text(revision)
    assert "CMS policy r2" in text and "Apptainer only" in text and "wendy" in text.lower()
    assert "- when Container runtime is one of singularity or apptainer" in text
    assert "+ when Container runtime is one of apptainer" in text


def test_rules_are_added_removed_and_reordered(wg_member, fleet,
                                               django_capture_on_commit_callbacks):
    app = browser(wg_member)
    summaries = lambda: list(PolicyRule.objects.filter(experiment__slug="cms")  # noqa: E731
                             .values_list("summary", flat=True))
    before = summaries()

    page = dry_run(app.get("/experiments/cms/policy/rules/new/"), {
        "position": "1", "summary": "Apptainer sites", "scenario": str(
            Scenario.objects.get(slug="containers-isolate-payloads").pk),
        "conditions-0-capability": str(
            CapabilityDefinition.objects.get(key="container_runtime").pk),
        "conditions-0-operator": "is", "conditions-0-value": "apptainer"})
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "Apptainer first"}).submit("action", value="save")
    assert summaries() == ["Apptainer sites", *before]

    page = app.get("/experiments/cms/policy/rules/order/")
    ids = list(PolicyRule.objects.filter(experiment__slug="cms").values_list("id", flat=True))
    page = dry_run(page, {f"rule_{ids[0]}": "3", f"rule_{ids[2]}": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "reordered"}).submit("action", value="save")
    assert summaries() == [before[1], before[0], "Apptainer sites"]

    page = dry_run(app.get("/experiments/cms/policy/rules/3/remove/"), {})
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "back as it was"}).submit("action", value="save")
    assert summaries() == [before[1], before[0]]
    assert list(PolicyRevision.objects.filter(experiment__slug="cms")
                .values_list("number", flat=True)) == [4, 3, 2, 1]


def test_two_rules_may_not_take_one_position(wg_member, reference):
    page = browser(wg_member).get("/experiments/cms/policy/rules/order/")
    ids = list(PolicyRule.objects.filter(experiment__slug="cms").values_list("id", flat=True))

    page = dry_run(page, {f"rule_{ids[0]}": "2", f"rule_{ids[1]}": "2"})

    assert "Give each rule a different position from 1 to 2." in page_text(page)


def test_a_standing_exception_kind_is_added_with_its_effect_shown(
        wg_member, reference, django_capture_on_commit_callbacks):
    hpc = make_site("HPC-X", kind="hpc", serves=("atlas",), container_runtime="none",
                    cvmfs="yes", outbound_network="no")
    page = dry_run(browser(wg_member).get("/experiments/atlas/policy/exceptions/new/"), {
        "name": "HPC without containers", "slug": "hpc-no-containers",
        "description": "Production only.", "scenario": str(
            Scenario.objects.get(slug="production-only").pk),
        "allows_user_jobs": False, "requires_expiry": False, "applies_to": "hpc"})
    assert "HPC-X" in page_text(page)

    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "HPC rule of the WG"}).submit(
            "action", value="save")

    kind = ExceptionKind.objects.get(slug="hpc-no-containers")
    assert kind.standing
    assert scenario_of(hpc, "atlas") == "production-only"


def test_a_scenario_rated_anew_shows_the_classes_moving(wg_member, fleet,
                                                         django_capture_on_commit_callbacks):
    page = dry_run(browser(wg_member).get("/scenarios/not-isolated/edit/"),
                   {"compliance": "interim"})
    text = page_text(page)
    assert "SITE-A" in text

    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "tolerated for now"}).submit(
            "action", value="save")

    assert Scenario.objects.get(slug="not-isolated").compliance == "interim"
    assert PolicyRevision.objects.filter(experiment__slug="cms", number=2,
                                         reason="tolerated for now").exists()


def test_the_plan_keeps_its_links(wg_member, reference, django_capture_on_commit_callbacks):
    page = browser().get("/experiments/alice/")
    assert page.html.select_one(".plan a").get_text() == "document"

    page = dry_run(browser(wg_member).get("/experiments/alice/policy/plan/"),
                   {"plan": "See the [JAliEn notes](https://alice.example.org/jalien)."})
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "new notes"}).submit("action", value="save")

    link = browser().get("/experiments/alice/").html.select_one(".plan a")
    assert link["href"] == "https://alice.example.org/jalien"


def test_a_policy_changed_in_the_admin_gets_a_revision_of_its_own(reference, fleet):
    recompute()
    rule = PolicyRule.objects.get(experiment__slug="cms", position=1)
    rule.summary = "Singularity or Apptainer"
    rule.save()

    recompute(by_policy=True)

    latest = PolicyRevision.objects.filter(experiment__slug="cms").first()
    assert latest.number == 2 and latest.made_by is None
    assert "outside the policy workbench" in latest.reason


# --- migrations ---------------------------------------------------------------------------------

def test_a_derived_step_changed_shows_each_sites_progress_moving(
        wg_member, fleet, django_capture_on_commit_callbacks):
    site_b = fleet[1]
    recompute()  # the rollout's progress derived for the fleet
    rollout = Migration.objects.get(slug="singularity-rollout")
    assert SiteMigration.objects.get(site=site_b, migration=rollout).completed_step is not None

    page = dry_run(browser(wg_member).get(ROLLOUT), {"steps-0-value": "apptainer"})

    rows = [[cell.get_text(" ", strip=True) for cell in row.find_all("td")]
            for row in page.html.select("table.changed-sites tbody tr")]
    assert rows == [["SITE-B Switzerland · Tier 2", "Singularity provided to the pilots",
                     "not started"]]
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "Apptainer only"}).submit("action", value="save")
    assert SiteMigration.objects.get(site=site_b, migration=rollout).completed_step is None
    assert rollout.steps.get().history.first().history_change_reason == "Apptainer only"


def test_steps_are_added_and_recorded_by_hand(wg_member, fleet,
                                              django_capture_on_commit_callbacks):
    page = dry_run(browser(wg_member).get(ROLLOUT), {
        "steps-1-position": "2", "steps-1-name": "Apptainer replaces Singularity",
        "steps-1-target_date": "2027-06-30"})
    assert "would change progress" in page_text(page)
    with django_capture_on_commit_callbacks(execute=True):
        fill(page_form(page), {"save-reason": "the next step"}).submit("action", value="save")

    rollout = Migration.objects.get(slug="singularity-rollout")
    added = rollout.steps.get(position=2)
    assert added.target_date.isoformat() == "2027-06-30" and not added.derived
    assert "Apptainer replaces Singularity" in page_text(browser().get(
        "/experiments/cms/migrations/singularity-rollout/"))


def test_steps_trade_positions(wg_member, reference, django_capture_on_commit_callbacks):
    steps = lambda: list(Migration.objects.get(slug="alien-to-jalien").steps  # noqa: E731
                         .values_list("name", flat=True))
    first, second = steps()
    page = dry_run(browser(wg_member).get(JALIEN), {"steps-0-position": "2",
                                                    "steps-1-position": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        done = fill(page_form(page), {"save-reason": "swapped"}).submit("action", value="save")

    assert done.status_code == 302
    assert steps() == [second, first]


def test_a_step_needs_a_day_or_a_period_not_both(wg_member, reference):
    period = str(LHCPeriod.objects.get(name="LS2").pk)
    page = dry_run(browser(wg_member).get(JALIEN), {"steps-0-target_date": "2027-01-31",
                                                    "steps-0-target_period": period})

    assert "Give a target day or a period, not both." in page_text(page)
    assert page_form(page)["steps-0-target_date"].value == "2027-01-31"
