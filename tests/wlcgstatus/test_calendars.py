"""The WG's dates in a calendar client: iCalendar feeds (RFC 5545) of exception expiries,
migration targets and the days capabilities need confirming, WG-wide, per experiment and per
site, read with the icalendar library as a client reads them. A renewal moves an event rather
than adding one; a revocation cancels it."""

import datetime

import pytest
from django.conf import settings
from icalendar import Calendar

from experiments.models import MigrationStep
from sites.models import Site

from ..factories.exceptions import grant
from ..factories.sites import make_site
from ..helpers import browser, day, fill, get_ok, page_form, renew_url, revoke_url, soup

CALENDAR = "/calendar.ics"


def events(client, url: str) -> dict[str, dict]:
    """The calendar's events by UID: each its day, summary, status, sequence and alarms (days
    before the event)."""
    response = get_ok(client, url)
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return {str(event["UID"]): {
        "day": event.decoded("DTSTART"),
        "summary": str(event["SUMMARY"]),
        "url": str(event["URL"]),
        "status": str(event.get("STATUS", "")),
        "sequence": int(event.get("SEQUENCE", 0)),
        "alarms": sorted(-alarm.decoded("TRIGGER").days for alarm in event.walk("VALARM")),
    } for event in calendar.walk("VEVENT")}


def uid(what: str) -> str:
    return f"{what}@{settings.SITE_URL.split('//')[1].split(':')[0].split('/')[0]}"


@pytest.fixture
def dated(reference):
    """Two CMS sites with exceptions, an ALICE site without, migrations with targets."""
    a = make_site("CH-A", serves=("cms",), container_runtime="none")
    b = make_site("CH-B", serves=("cms", "alice"), container_runtime="none")
    make_site("CH-C", serves=("alice",), container_runtime="apptainer")
    return grant(a, day(-10), day(40)), grant(b, day(-10), day(20))


def test_the_wg_calendar_holds_every_expiry_and_target_and_a_site_its_confirmation_day(
        client, dated):
    expiring_a, expiring_b = dated
    shown = events(client, CALENDAR)

    a = shown[uid(f"exception-{expiring_a.pk}")]
    assert a["day"] == day(40)
    assert a["summary"] == "CH-A: CMS exception ends (Short-term exception while deploying " \
                           "Singularity)"
    assert a["url"] == f"{settings.SITE_URL}/sites/CH-A/"
    assert a["alarms"] == [1, 7, 30]  # the days the reminder mail goes out
    assert shown[uid(f"exception-{expiring_b.pk}")]["day"] == day(20)
    targets = MigrationStep.objects.exclude(target_date=None, target_period=None)
    assert targets.exists()
    for step in targets:
        assert shown[uid(f"migration-step-{step.pk}")]["day"] == step.due_on
    # The days each site's capabilities need confirming are the site's own calendar's.
    assert not [key for key in shown if "confirmation" in key]
    for site in Site.objects.all():
        confirm = events(client, f"/sites/{site.name}/calendar.ics")[
            uid(f"site-{site.pk}-confirmation")]
        assert confirm["day"] == day(settings.CAPABILITY_CONFIRM_DAYS)  # reported today
        assert confirm["summary"] == f"{site.name}: confirm its capabilities"


def test_a_renewal_moves_the_event_and_a_revocation_cancels_it(client, dated, wg_member):
    expiring_a, expiring_b = dated
    before = events(client, CALENDAR)
    wendy = browser(wg_member)

    fill(page_form(wendy.get(renew_url(expiring_a))),
         {"expires_on": day(100).isoformat(), "reason": "The hardware is late"}).submit()
    fill(page_form(wendy.get(revoke_url(expiring_b))),
         {"reason": "Singularity deployed"}).submit()
    after = events(client, CALENDAR)

    assert after.keys() == before.keys()  # the same events: a client updates, not adds
    renewed = after[uid(f"exception-{expiring_a.pk}")]
    assert renewed["day"] == day(100)
    assert renewed["sequence"] > before[uid(f"exception-{expiring_a.pk}")]["sequence"]
    revoked = after[uid(f"exception-{expiring_b.pk}")]
    assert (revoked["status"], revoked["alarms"]) == ("CANCELLED", [])


def test_an_experiment_and_a_site_have_calendars_of_their_own(client, dated):
    _, expiring_b = dated
    cms = events(client, "/experiments/cms/calendar.ics")
    alice = events(client, "/experiments/alice/calendar.ics")
    ch_b = events(client, "/sites/CH-B/calendar.ics")

    assert {uid(f"exception-{e.pk}") for e in dated} <= cms.keys()
    assert not any(key.startswith("exception-") for key in alice)
    assert all("ALICE" in event["summary"] for key, event in alice.items()
               if key.startswith("migration-step-"))
    assert [key for key in ch_b if key.startswith("exception-")] == [
        uid(f"exception-{expiring_b.pk}")]
    confirmations = [key for key in ch_b if "confirmation" in key]
    assert confirmations == [uid(f"site-{Site.objects.get(name='CH-B').pk}-confirmation")]
    # CH-B serves CMS and ALICE: both experiments' targets are its dates too.
    assert {key for key in ch_b if key.startswith("migration-step-")} == {
        key for key in (*cms, *alice) if key.startswith("migration-step-")}


@pytest.mark.parametrize(("page", "calendar"), [
    ("/", CALENDAR), ("/experiments/cms/", "/experiments/cms/calendar.ics"),
    ("/sites/CH-A/", "/sites/CH-A/calendar.ics")])
def test_pages_link_their_calendar(client, dated, page, calendar):
    response = get_ok(client, page)
    assert soup(response).select_one(
        f'link[rel="alternate"][type="text/calendar"][href="{calendar}"]')
    assert soup(response).select_one(f'a[href="{calendar}"]')


def test_a_retired_sites_dates_leave_the_calendar(client, dated):
    expiring_a, _ = dated
    Site.objects.filter(name="CH-A").update(retired_on=datetime.date.today())
    assert uid(f"exception-{expiring_a.pk}") not in events(client, CALENDAR)
    assert uid(f"site-{expiring_a.site_id}-confirmation") not in events(
        client, "/sites/CH-A/calendar.ics")
