"""A WG member looks at where things stood at the last meeting: sets a past day in the header
of the overview, follows links, which keep the day, and comes back to today."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from experiments.models import Experiment
from wlcgstatus.past import status_on

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_past_day_set_on_the_overview_is_kept_by_every_link(live_demo, watched_page: Page):
    page = watched_page
    meeting = timezone.localdate() - datetime.timedelta(days=120)
    (cms,) = status_on(meeting, [Experiment.objects.get(slug="cms")]).summaries
    page.goto(f"{live_demo.url}/")
    expect(page.locator(".banner.as-of")).to_have_count(0)

    page.get_by_label("As of", exact=True).fill(meeting.isoformat())
    page.get_by_role("button", name="Show").click()

    page.wait_for_url(re.compile(rf"/\?as_of={meeting}$"))
    banner = page.locator(".banner.as-of")
    expect(banner).to_contain_text(f"Status as of {meeting.day} {meeting:%B %Y}")
    card = page.locator("section.card#cms")
    expect(card.locator(".card-head a.muted")).to_have_text(f"{cms.total} sites")

    # The card's site count opens the sites table of that day, filtered to CMS.
    card.locator(".card-head a.muted").click()
    page.wait_for_url(re.compile(rf"/sites/\?experiment=cms&as_of={meeting}$"))
    expect(page.locator(".banner.as-of")).to_be_visible()
    expect(page.locator(".lead").first).to_contain_text(f"{cms.total} sites match")

    # Filtering keeps the day too, and so does a site's link.
    page.select_option("#id_compliance", "non_compliant")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"compliance=non_compliant.*as_of={meeting}"))
    non_compliant = next(f.count for f in cms.compliance if f.key == "non_compliant")
    expect(page.locator("table.sites tbody tr")).to_have_count(non_compliant)
    page.locator("table.sites tbody tr td:first-child a").first.click()
    page.wait_for_url(re.compile(rf"/sites/[^/]+/\?as_of={meeting}$"))
    expect(page.locator(".banner.as-of")).to_be_visible()
    expect(page.locator("table.assessments")).to_contain_text("Non-compliant")

    page.locator(".banner.as-of").get_by_role("link", name="back to today").click()
    page.wait_for_url(re.compile(r"/sites/[^/?]+/$"))
    expect(page.locator(".banner.as-of")).to_have_count(0)
    assert page.console_errors == []
