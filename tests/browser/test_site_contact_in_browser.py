"""A site contact keeps their site current, in a real Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from sites.models import Assessment, CapabilityValue, Site

pytestmark = pytest.mark.django_db(transaction=True)


def test_contact_previews_and_saves_a_capability_then_sees_the_new_scenario(
        live_demo, watched_page: Page, django_user_model):
    page = watched_page
    site = Site.objects.get(name="GRIF")
    assert Assessment.objects.get(site=site, experiment__slug="cms").scenario.slug == (
        "not-isolated")
    contact = django_user_model.objects.create_user("grif-admin", password="a long secret",
                                                    first_name="Grif", last_name="Admin")
    site.contacts.add(contact)

    page.goto(f"{live_demo.url}/accounts/login/?next=/me/")
    page.fill("#id_username", "grif-admin")
    page.fill("#id_password", "a long secret")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/me/$"))
    page.get_by_role("link", name="Update capabilities").click()

    page.check("input[name=container_runtime][value=apptainer]")
    page.fill("#id_container_runtime_version", "1.3.6")
    page.get_by_role("button", name="Preview the effect").click()
    preview = page.locator(".preview")
    expect(preview).to_contain_text("CMS:")
    expect(preview.locator("li", has_text="CMS")).to_contain_text("Isolated in containers")
    assert not CapabilityValue.objects.filter(site=site, value="1.3.6").exists()

    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/sites/GRIF/$"))
    expect(page.locator(".messages")).to_contain_text("CMS: Not isolated → Isolated in containers")
    cms_row = page.locator("table.assessments tr", has_text="CMS")
    expect(cms_row).to_contain_text("Isolated in containers")

    page.goto(f"{live_demo.url}/sites/?experiment=cms&scenario=containers-isolate-payloads"
              "&q=GRIF")
    expect(page.locator("table.sites tbody tr")).to_have_count(1)
    expect(page.locator("table.sites tbody tr td").first).to_have_text("GRIF")
    assert page.console_errors == []
    assert page.foreign_requests == []
