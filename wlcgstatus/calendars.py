"""The WG's dates as iCalendar feeds (RFC 5545), for a calendar client to subscribe to: the
exceptions' expiries (with alarms on the days the reminder mail goes out) and the migration
steps' targets, WG-wide and per experiment; per site, also the day its capabilities need
confirming (WG-wide, that would be an event a site: 20,000 of them, 9 MB). Each event's UID
is stable (the exception's, the step's, the site's), so a client updates an event when its
date moves (a renewal, a new target, a confirmation) instead of adding another; a revoked
exception's event stays, cancelled, so that clients remove it. A feed is made once per
version of the data (sites/cache.py): clients poll it, and a thousand events take the
icalendar library half a second to write."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from icalendar import Alarm, Calendar, Event

from experiments.models import Experiment, MigrationStep
from sites.cache import cached
from sites.models import Site, SiteException
from sites.reminders import EXPIRY_REMINDER_DAYS

PRODUCT = "-//WLCG Traceability and Isolation WG//wlcgstatus//EN"


def everything(request) -> HttpResponse:
    return _response("wlcg-isolation", lambda: _calendar(
        "WLCG isolation: expiries and targets", SiteException.objects.all(),
        MigrationStep.objects.all(), Site.objects.none()))


def experiment_calendar(request, slug: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, slug=slug)
    return _response(f"wlcg-isolation-{experiment.slug}", lambda: _calendar(
        f"WLCG isolation: {experiment.name}",
        SiteException.objects.filter(experiment=experiment),
        MigrationStep.objects.filter(migration__experiment=experiment), Site.objects.none()))


def site_calendar(request, name: str) -> HttpResponse:
    site = get_object_or_404(Site, name=name)
    served = site.experiment_sites.values("experiment_id")
    return _response(f"wlcg-isolation-{site.name}", lambda: _calendar(
        f"WLCG isolation: {site.name}", SiteException.objects.filter(site=site),
        MigrationStep.objects.filter(migration__experiment__in=served),
        Site.objects.filter(pk=site.pk)))


def _response(filename: str, make) -> HttpResponse:
    response = HttpResponse(cached(f"calendar:{filename}", make),
                            content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    return response


def _calendar(name: str, exceptions, steps, sites) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    stamp = timezone.now()
    for event in (*_expiries(exceptions, stamp), *_targets(steps, stamp),
                  *_confirmations(sites, stamp)):
        calendar.add_component(event)
    return calendar.to_ical()


def _revisions(model) -> Coalesce:
    """How many times each row was changed since it was made (its history records, less the
    first): the event's SEQUENCE, which tells a client that an event it holds has moved."""
    records = (model.history.filter(id=OuterRef("pk")).order_by().values("id")
               .annotate(n=Count("history_id") - 1).values("n"))
    return Coalesce(Subquery(records), 0)


def _uid(what: str) -> str:
    return f"{what}@{urlsplit(settings.SITE_URL).hostname}"


def _event(uid: str, day: datetime.date, summary: str, description: str, url: str,
           stamp: datetime.datetime, sequence: int = 0) -> Event:
    """An all-day event on the day."""
    event = Event()
    event.add("uid", _uid(uid))
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + datetime.timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", f"{settings.SITE_URL}{url}")
    event.add("sequence", sequence)
    event.add("transp", "TRANSPARENT")  # a date to know, not time taken
    return event


def _expiries(exceptions, stamp: datetime.datetime) -> Iterable[Event]:
    """Each granted exception's last day, with an alarm on each day the reminder mail goes
    out; its SEQUENCE counts its changes (a renewal moves the day: the same event, later)."""
    for exception in (exceptions.filter(expires_on__isnull=False, site__retired_on=None)
                      .select_related("site", "experiment", "kind")
                      .annotate(changes=_revisions(SiteException))
                      .order_by("expires_on", "site__name")):
        event = _event(
            f"exception-{exception.pk}", exception.expires_on,
            f"{exception.site.name}: {exception.experiment.name} exception ends "
            f"({exception.kind.name})",
            f"The last day of the {exception.experiment.name} exception “{exception.kind.name}” "
            f"granted to {exception.site.name} on {exception.granted_on:%-d %B %Y} by "
            f"{exception.granted_by}: {exception.reason}",
            exception.site.get_absolute_url(), stamp, exception.changes)
        if exception.revoked_on:
            event.add("status", "CANCELLED")
        else:
            for days in EXPIRY_REMINDER_DAYS:
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("trigger", -datetime.timedelta(days=days))
                alarm.add("description", f"{exception.site.name}'s "
                                         f"{exception.experiment.name} exception ends in "
                                         f"{days} day{'s' if days != 1 else ''}")
                event.add_component(alarm)
        yield event


def _targets(steps, stamp: datetime.datetime) -> Iterable[Event]:
    """Each migration step's target day (a day, or the end of its LHC period)."""
    for step in (steps.filter(Q(target_date__isnull=False) | Q(target_period__isnull=False))
                 .select_related("migration__experiment", "target_period")
                 .annotate(changes=_revisions(MigrationStep))
                 .order_by("migration__experiment__position", "migration__name", "position")):
        migration = step.migration
        yield _event(
            f"migration-step-{step.pk}", step.due_on,
            f"{migration.experiment.name} {migration.name}: “{step.name}” due",
            f"The target of step {step.position} of the {migration.experiment.name} migration "
            f"{migration.name}: {step.target_label}.",
            reverse("migration_detail", args=[migration.experiment.slug, migration.slug]),
            stamp, step.changes)


def _confirmations(sites, stamp: datetime.datetime) -> Iterable[Event]:
    """The day each site's capabilities turn stale unless someone confirms them: the event
    moves on with each confirmation."""
    for site in (sites.filter(retired_on=None)
                 .annotate(last_reported_at=Max("capability_values__reported_at"))
                 .filter(last_reported_at__isnull=False).order_by("name")):
        reported = timezone.localdate(site.last_reported_at)
        yield _event(
            f"site-{site.pk}-confirmation",
            reported + datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS),
            f"{site.name}: confirm its capabilities",
            f"{site.name}'s capabilities were last confirmed on {reported:%-d %B %Y}: unless "
            f"someone confirms them by then, they turn stale "
            f"({settings.CAPABILITY_CONFIRM_DAYS} days).",
            reverse("sites:site_capabilities", args=[site.name]), stamp)
