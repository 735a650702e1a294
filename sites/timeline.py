"""The state of every site on a past day, rebuilt from what is stored now and the changes
recorded since: the source of reports “as of” a date and of backfilled snapshots."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import Assessment, AssessmentChange, SiteException


def end_of(day: datetime.date) -> datetime.datetime:
    """The first moment after the day, in the project's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1),
                                                         datetime.time()))


def scenarios_on(day: datetime.date, experiment_ids: list[int] | None = None
                 ) -> dict[tuple[int, int], int | None]:
    """(site id, experiment id) → scenario id at the end of the day, for the experiments each
    site served then: today's assessments, with every change recorded after that day undone,
    newest first."""
    assessments = Assessment.objects.all()
    changes = AssessmentChange.objects.filter(changed_at__gte=end_of(day))
    if experiment_ids is not None:
        assessments = assessments.filter(experiment_id__in=experiment_ids)
        changes = changes.filter(experiment_id__in=experiment_ids)
    state = {(site, experiment): scenario for site, experiment, scenario in
             assessments.values_list("site_id", "experiment_id", "scenario_id")}
    for event, site, experiment, old in (changes.order_by("-changed_at", "-id").values_list(
            "event", "site_id", "experiment_id", "old_scenario_id")):
        if event == AssessmentChange.Event.STARTED:
            state.pop((site, experiment), None)  # it did not serve the experiment yet
        else:
            state[site, experiment] = old
    return state


def exceptions_on(day: datetime.date, experiment_id: int) -> list[SiteException]:
    """An experiment's exceptions as they stood at the end of the day (dates as then, before
    any later renewal or revocation), from their history; those without history before the
    day are taken as they are now, those created after it are left out."""
    end = end_of(day)
    latest, created_later = {}, set()
    for record in (SiteException.history.filter(experiment_id=experiment_id)
                   .order_by("history_date", "history_id")):
        if record.history_date < end:
            latest[record.id] = record
        elif record.history_type == "+" and record.id not in latest:
            created_later.add(record.id)
    exceptions = []
    for exception in (SiteException.objects.filter(experiment_id=experiment_id)
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
