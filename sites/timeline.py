"""The state of every site on a past day, rebuilt from what is stored now and the changes
recorded since: the source of reports “as of” a date and of backfilled snapshots."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db.models import Max
from django.utils import timezone

from .history import BASELINE
from .models import Assessment, AssessmentChange, CapabilityValue, SiteException

ONE_DAY = datetime.timedelta(days=1)


def end_of(day: datetime.date) -> datetime.datetime:
    """The first moment after the day, in the project's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day + ONE_DAY, datetime.time()))


def scenarios_on(day: datetime.date, experiment_ids: list[int] | None = None
                 ) -> dict[tuple[int, int], int | None]:
    """(site id, experiment id) → scenario id at the end of the day, for the experiments each
    site served then."""
    _day, state = next(scenarios_by_day(day, day, experiment_ids))
    return state


def scenarios_by_day(first: datetime.date, last: datetime.date,
                     experiment_ids: list[int] | None = None
                     ) -> Iterator[tuple[datetime.date, dict[tuple[int, int], int | None]]]:
    """For each day from `last` back to `first`, the state at its end as `scenarios_on` gives
    it: today's assessments, with every change recorded after that day undone, newest first.
    One pass over the history for the whole range; the state yielded is the same dictionary
    each time, changed in place, so read it before asking for the next day."""
    assessments = Assessment.objects.all()
    changes = AssessmentChange.objects.filter(changed_at__gte=end_of(first))
    if experiment_ids is not None:
        assessments = assessments.filter(experiment_id__in=experiment_ids)
        changes = changes.filter(experiment_id__in=experiment_ids)
    state = {(site, experiment): scenario for site, experiment, scenario in
             assessments.values_list("site_id", "experiment_id", "scenario_id")}
    newest_first = iter(changes.order_by("-changed_at", "-id").values_list(
        "changed_at", "event", "site_id", "experiment_id", "old_scenario_id"))
    pending = next(newest_first, None)
    day = last
    while day >= first:
        end = end_of(day)
        while pending is not None and pending[0] >= end:
            _changed_at, event, site, experiment, old = pending
            if event == AssessmentChange.Event.STARTED:
                state.pop((site, experiment), None)  # it did not serve the experiment yet
            else:
                state[site, experiment] = old
            pending = next(newest_first, None)
        yield day, state
        day -= ONE_DAY


def exceptions_on(day: datetime.date, experiment_ids: list[int]) -> list[SiteException]:
    """The experiments' exceptions as they stood at the end of the day (dates as then, before
    any later renewal or revocation), from their history; those without history before the
    day are taken as they are now, those created after it are left out."""
    end = end_of(day)
    latest, created_later = {}, set()
    for record in (SiteException.history.filter(experiment_id__in=experiment_ids)
                   .order_by("history_date", "history_id")):
        if record.history_date < end:
            latest[record.id] = record
        elif record.history_type == "+" and record.id not in latest:
            created_later.add(record.id)
    exceptions = []
    for exception in (SiteException.objects.filter(experiment_id__in=experiment_ids)
                      .select_related("site", "kind")):
        record = latest.get(exception.id)
        if record is not None:
            if record.history_type == "-":
                continue
            exception.granted_on = record.granted_on
            exception.expires_on = record.expires_on
            exception.revoked_on = record.revoked_on
        elif exception.id in created_later:
            continue
        exceptions.append(exception)
    return exceptions


def confirmed_on(day: datetime.date) -> dict[int, datetime.datetime]:
    """Site id → when its capabilities had last been confirmed, as of the end of the day: the
    latest report time its values carried then (every save confirms all of a site's values,
    and is a record in their history)."""
    end = end_of(day)
    recorded = (CapabilityValue.history.filter(history_date__lt=end)
                .exclude(history_type="-"))
    # And the values kept unchanged since before the day (or stored without history).
    kept = CapabilityValue.objects.filter(reported_at__lt=end)
    latest: dict[int, datetime.datetime] = {}
    for values in (recorded, kept):
        for site_id, reported_at in (values.order_by().values("site_id")
                                     .annotate(last=Max("reported_at"))
                                     .values_list("site_id", "last")):
            if reported_at < end and (site_id not in latest or reported_at > latest[site_id]):
                latest[site_id] = reported_at
    return latest


def values_on(model, day: datetime.date, fields: tuple[str, ...]) -> dict[int, tuple]:
    """Id → the given fields of each row of a model with history (django-simple-history), as
    it stood at the end of the day: its last record before then; with none, its first record
    if that is the baseline of loaded data (it was there, as loaded); a row with no record
    before then is taken as it is now, unless it was created later (or deleted since)."""
    end = end_of(day)
    then: dict[int, tuple | None] = {}
    created_later = set()
    for pk, history_type, history_date, reason, *values in (
            model.history.order_by("history_date", "history_id")
            .values_list("id", "history_type", "history_date", "history_change_reason",
                         *fields)):
        if history_date < end:
            then[pk] = None if history_type == "-" else tuple(values)
        elif pk not in then and pk not in created_later:
            if reason == BASELINE:
                then[pk] = tuple(values)
            elif history_type == "+":
                created_later.add(pk)
    for pk, *values in model.objects.values_list("id", *fields):
        if pk not in then and pk not in created_later:
            then[pk] = tuple(values)
    return {pk: values for pk, values in then.items() if values is not None}
