"""The state of every site on a past day, rebuilt from what is stored now and the changes
recorded since: the source of reports “as of” a date and of backfilled snapshots."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import Assessment, AssessmentChange


def end_of(day: datetime.date) -> datetime.datetime:
    """The first moment after the day, in the project's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1),
                                                         datetime.time()))


def scenarios_on(day: datetime.date, experiment_ids: list[int] | None = None
                 ) -> dict[tuple[int, int], int | None]:
    """(site id, experiment id) → scenario id at the end of the day: today's assessments,
    with every change recorded after that day undone, newest first."""
    assessments = Assessment.objects.all()
    changes = AssessmentChange.objects.filter(changed_at__gte=end_of(day))
    if experiment_ids is not None:
        assessments = assessments.filter(experiment_id__in=experiment_ids)
        changes = changes.filter(experiment_id__in=experiment_ids)
    state = {(site, experiment): scenario for site, experiment, scenario in
             assessments.values_list("site_id", "experiment_id", "scenario_id")}
    for site, experiment, old in (changes.order_by("-changed_at", "-id")
                                  .values_list("site_id", "experiment_id", "old_scenario_id")):
        state[site, experiment] = old
    return state
