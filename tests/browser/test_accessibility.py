"""An axe-core scan (WCAG 2.1 A and AA) of every kind of page, signed out and signed in.

axe-core comes from npm (package.json; scripts/test installs it into node_modules). Its script
is injected into each page, which the Content-Security-Policy forbids: this test's browser
context bypasses the CSP, the other browser tests keep it.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page

from sites.models import Site
from sites.permissions import WG_MEMBERS

from ..helpers import charts_drawn

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SITE = "FZK-LCG2"

# Every kind of page anyone may read, the sites table also filtered.
READ_PAGES = [
    "/", "/sites/", "/sites/?experiment=cms&compliance=non_compliant&tier=1&tier=2",
    f"/sites/{SITE}/", "/experiments/alice/", "/experiments/atlas/", "/experiments/cms/",
    "/experiments/lhcb/", "/experiments/alice/migrations/alien-to-jalien/", "/scenarios/",
    "/changes/", "/reports/",
]
# What a WG member who is also the site's contact sees besides.
SIGNED_IN_PAGES = [
    "/me/", f"/sites/{SITE}/capabilities/", f"/sites/{SITE}/exceptions/new/",
    f"/sites/{SITE}/tokens/", "/experiments/cms/policy/rules/1/",
    "/experiments/cms/policy/rules/order/", "/experiments/cms/policy/exceptions/new/",
    "/experiments/cms/policy/migrations/singularity-rollout/", "/scenarios/not-isolated/edit/",
    "/experiments/cms/revisions/1/",
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not AXE.exists(), reason=f"no axe-core at {AXE}: run `npm ci` "
                                                "(scripts/test does) to run the scan"),
    pytest.mark.browser_context_args(bypass_csp=True, viewport={"width": 1440, "height": 900}),
]


def violations(page: Page) -> list[str]:
    """axe's WCAG 2.1 A/AA violations on the page as it stands, one line per element."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                                resultTypes: ["violations"]});
        return result.violations.flatMap((violation) => violation.nodes.map(
            (node) => `${violation.id} (${violation.impact}): ${node.target.join(" ")}`));
    }""", WCAG_21_AA)
    return [f"{page.url}: {line}" for line in found]


def scan(page: Page, base_url: str, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        response = page.goto(f"{base_url}{path}")
        assert response.status == 200, path
        charts_drawn(page)
        found += violations(page)
    return found


def test_every_page_passes_an_axe_scan_signed_out_and_signed_in(
        live_demo, watched_page: Page, django_user_model):
    page = watched_page
    found = scan(page, live_demo.url, [*READ_PAGES, "/accounts/login/"])

    member = django_user_model.objects.create_user("scanner", password="a long secret",
                                                   first_name="Axe", last_name="Scanner")
    member.groups.add(Group.objects.get(name=WG_MEMBERS))
    Site.objects.get(name=SITE).contacts.add(member)
    page.goto(f"{live_demo.url}/accounts/login/")
    page.fill("#id_username", "scanner")
    page.fill("#id_password", "a long secret")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/me/$"))
    found += scan(page, live_demo.url, [*READ_PAGES, *SIGNED_IN_PAGES])

    # A form sent back with its errors: the error texts and marked fields are scanned too.
    page.goto(f"{live_demo.url}/sites/{SITE}/exceptions/new/")
    page.locator("form.form").evaluate("(form) => { form.noValidate = true; }")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".error").count() > 0, "the empty form came back with its errors"
    found += violations(page)
    # A policy change's dry run: its counts, changed sites, filters and save form.
    page.goto(f"{live_demo.url}/experiments/cms/policy/rules/1/")
    page.fill("#id_conditions-0-value", "apptainer")
    page.get_by_role("button", name="Dry run").click()
    page.wait_for_selector(".dry-run")
    found += violations(page)

    assert not found, f"{len(found)} accessibility violations:\n" + "\n".join(found)
    assert page.console_errors == []
