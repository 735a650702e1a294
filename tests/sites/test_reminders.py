"""Reminders go out on their days: to a site's contacts and the WG 30, 7 and 1 days before an
exception expires, and to the contacts when nobody confirmed the capabilities for too long."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from sites.models import Site
from sites.reminders import send_reminders
from sites.tasks import remind
from sites.updates import record_capabilities

from ..factories.accounts import UserFactory
from ..factories.exceptions import grant
from ..factories.sites import make_site
from ..helpers import on


@pytest.fixture
def people(db):
    contact = UserFactory(username="sam", email="contact@example.org")
    UserFactory(username="nomail", email="")  # a contact without an address gets nothing
    UserFactory(username="wanda", email="wg@example.org", wg_member=True)
    return contact


def contact_site(name: str, contact, **capabilities) -> Site:
    site = make_site(name, serves=("cms",), **capabilities)
    site.contacts.add(contact, get_user_model().objects.get(username="nomail"))
    return site


@pytest.mark.parametrize(("days_left", "mailed"), [(30, True), (7, True), (1, True),
                                                   (29, False), (8, False), (0, False)])
def test_an_expiring_exception_is_reminded_30_7_and_1_days_before(
        reference, people, mailoutbox, days_left, mailed):
    today = datetime.date(2026, 6, 1)
    with on(today):
        site = contact_site("CH-EXPIRING", people, container_runtime="none")
        expires = today + datetime.timedelta(days=days_left)
        grant(site, today - datetime.timedelta(days=60), expires)
        sent = send_reminders(today)
    if not mailed:
        assert sent == 0 and mailoutbox == []
        return
    assert sent == 1
    [mail] = mailoutbox
    assert sorted(mail.to) == ["contact@example.org", "wg@example.org"]
    plural = "s" if days_left != 1 else ""
    assert mail.subject == (f"[WLCG isolation] CH-EXPIRING: CMS exception expires in "
                            f"{days_left} day{plural}")
    body = mail.body
    assert "CH-EXPIRING" in body and "CMS" in body
    assert f"expires on {expires.day} {expires:%B %Y}, in {days_left} day{plural}" in body
    assert f"{settings.SITE_URL}/sites/CH-EXPIRING/" in body


@pytest.mark.parametrize(("days_since", "mailed"), [(-1, False), (0, True), (1, False),
                                                    (29, False), (30, True), (60, True)])
def test_unconfirmed_capabilities_are_reminded_to_the_contacts(
        reference, people, mailoutbox, days_since, mailed):
    """days_since counts from the day the capabilities turn stale (CAPABILITY_CONFIRM_DAYS
    after the last report); the first reminder is on that day (0), then every 30 days."""
    reported = datetime.date(2026, 1, 10)
    with on(reported, hour=9):
        contact_site("CH-STALE", people, container_runtime="singularity", cvmfs="yes")
    today = reported + datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS + days_since)
    sent = send_reminders(today)
    assert sent == (1 if mailed else 0)
    if not mailed:
        assert mailoutbox == []
        return
    [mail] = mailoutbox
    assert mail.to == ["contact@example.org"]
    assert mail.subject == "[WLCG isolation] Please confirm CH-STALE's capabilities"
    days = settings.CAPABILITY_CONFIRM_DAYS + days_since
    assert f"Nobody has confirmed the capabilities of CH-STALE for {days} days" in mail.body
    assert f"{settings.SITE_URL}/sites/CH-STALE/capabilities/" in mail.body
    assert f"{settings.SITE_URL}/sites/CH-STALE/" in mail.body


def test_the_latest_report_of_any_capability_counts_as_the_confirmation(
        reference, people, mailoutbox):
    with on(datetime.date(2026, 1, 10)):
        site = contact_site("CH-PARTLY", people, container_runtime="singularity")
    with on(datetime.date(2026, 2, 10)):
        record_capabilities(site, {"cvmfs": "yes"})
    stale_day = datetime.date(2026, 2, 10) + datetime.timedelta(
        days=settings.CAPABILITY_CONFIRM_DAYS)
    assert send_reminders(stale_day - datetime.timedelta(days=31)) == 0
    assert send_reminders(stale_day) == 1
    assert mailoutbox[0].subject.endswith("Please confirm CH-PARTLY's capabilities")


def test_the_nightly_remind_task_sends_the_days_reminders(reference, people, mailoutbox):
    today = datetime.date(2026, 9, 1)
    with on(today - datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS)):
        contact_site("CH-STALE", people, container_runtime="singularity")
    with on(today):
        expiring = contact_site("CH-EXPIRING", people, container_runtime="none")
        grant(expiring, today - datetime.timedelta(days=10), today + datetime.timedelta(days=7))
    result = remind.delay(today.isoformat())
    assert result.get() == 2
    assert sorted(mail.subject for mail in mailoutbox) == [
        "[WLCG isolation] CH-EXPIRING: CMS exception expires in 7 days",
        "[WLCG isolation] Please confirm CH-STALE's capabilities",
    ]
    mailoutbox.clear()
    assert remind.delay((today + datetime.timedelta(days=1)).isoformat()).get() == 0
    assert mailoutbox == []


def test_a_retired_site_is_reminded_of_nothing(reference, people, mailoutbox):
    today = datetime.date(2026, 6, 1)
    with on(today - datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS)):
        site = contact_site("CH-RETIRED", people, container_runtime="none")
    with on(today):
        grant(site, today - datetime.timedelta(days=60), today + datetime.timedelta(days=7))
        Site.objects.filter(pk=site.pk).update(retired_on=today - datetime.timedelta(days=1))

        assert send_reminders(today) == 0
    assert mailoutbox == []
