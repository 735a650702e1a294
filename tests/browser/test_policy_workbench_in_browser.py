"""The WG changes a policy in a real Chromium, as the demo's WG member: a CMS rule edited,
its dry run read, then saved with a reason; the overview, the site pages and the policy's
revisions show the change."""

import re

import pytest
from playwright.sync_api import Page, expect

from sites.management.commands.load_demo import Command as DemoCommand
from sites.models import Assessment

pytestmark = pytest.mark.django_db(transaction=True)


def target_sites(page: Page) -> str:
    """How many sites the overview's CMS card counts at the target."""
    return page.locator("#cms .headline li", has_text="Target").locator("small").inner_text()


def test_a_wg_member_edits_a_cms_rule_dry_runs_it_and_saves_it(live_demo, watched_page: Page):
    page = watched_page
    DemoCommand().create_accounts()  # the demo's “wg”, as `load_demo --accounts` makes it
    singularity_sites = set(Assessment.objects.filter(
        experiment__slug="cms", rule__position=1, exception=None, standing_exception=None,
        site__capability_values__capability__key="container_runtime",
        site__capability_values__value="singularity").values_list("site__name", flat=True))
    assert singularity_sites
    page.goto(f"{live_demo.url}/")
    before = target_sites(page)

    page.goto(f"{live_demo.url}/accounts/login/?next=/experiments/cms/")
    page.fill("#id_username", "wg")
    page.fill("#id_password", "demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/experiments/cms/$"))
    page.locator("table.rules tr", has_text="Singularity provided").get_by_role(
        "link", name="edit").click()

    page.fill("#id_conditions-0-value", "apptainer")
    page.get_by_role("button", name="Dry run").click()
    dry_run = page.locator(".dry-run")
    expect(dry_run).to_contain_text(f"{len(singularity_sites)} site")
    changed = page.locator("table.changed-sites tbody tr")
    expect(changed).to_have_count(len(singularity_sites))
    a_site = sorted(singularity_sites)[0]
    expect(changed.filter(has_text=a_site)).to_contain_text("Not isolated")
    page.screenshot(path="/tmp/workbench-dry-run.png", full_page=True)

    page.fill("#id_save-reason", "CMS moves to Apptainer")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/experiments/cms/$"))
    expect(page.locator(".messages")).to_contain_text(re.compile(r"Saved as CMS policy r\d+\."))
    number = re.search(r"r(\d+)", page.locator(".messages").inner_text()).group(1)
    revisions = page.locator("table.revisions")
    expect(revisions.locator("tbody tr").first).to_contain_text("CMS moves to Apptainer")

    page.goto(f"{live_demo.url}/")
    assert int(target_sites(page).split()[0]) == int(before.split()[0]) - len(singularity_sites)

    page.goto(f"{live_demo.url}/sites/{a_site}/")
    cms = page.locator("table.assessments tr", has_text="CMS")
    expect(cms).to_contain_text("Not isolated")
    expect(cms).to_contain_text(f"Decided by CMS policy r{number}, rule 2")

    cms.get_by_role("link", name=f"CMS policy r{number}, rule 2").click()
    expect(page.locator("h1")).to_have_text(f"CMS policy r{number}")
    expect(page.locator("pre.diff")).to_contain_text(
        "- when Container runtime is one of singularity or apptainer")
    expect(page.locator("pre.diff")).to_contain_text(
        "+ when Container runtime is one of apptainer")
    page.screenshot(path="/tmp/workbench-revision.png", full_page=True)
    assert page.console_errors == []
    assert page.foreign_requests == []
