"""Dated snapshots of the counts that over-time charts are drawn from."""

import bisect
import datetime
from collections import Counter

from django.db import transaction
from django.utils import timezone

from experiments.models import Migration
from sites.cache import invalidate
from sites.clock import recompute_overtaken
from sites.timeline import scenarios_by_day

from .models import MigrationCount, ScenarioCount
from .summary import migration_series


def take_snapshot(day: datetime.date) -> int:
    """Store the counts as they stood at the end of `day`, replacing any taken for that day.
    Returns the rows written."""
    return take_snapshots(day, day)


def take_snapshots(first: datetime.date, last: datetime.date) -> int:
    """Store the counts of every day from `first` to `last` as they stood at its end (rebuilt
    from the change history for a past day), replacing any taken for those days, in one pass
    over the history whatever the number of days. Returns the rows written. First, as a
    page does before it reads them, the assessments the clock has overtaken are recomputed:
    an exception that lapsed since anything last looked is then counted as lapsed, from the
    day it lapsed."""
    recompute_overtaken(timezone.localdate())
    scenario_rows = [
        ScenarioCount(day=day, experiment_id=experiment_id, scenario_id=scenario_id, sites=n)
        for day, state in scenarios_by_day(first, last)
        for (experiment_id, scenario_id), n in Counter(
            (experiment_id, scenario_id)
            for (_site, experiment_id), scenario_id in state.items()).items()]
    migration_rows = []
    for migration in Migration.objects.prefetch_related("steps"):
        for step, points in migration_series(migration, last).items():
            days = [point_day for point_day, _n in points]
            day = first
            while day <= last:
                # The count after the day's last change: the latest point on or before it.
                latest = bisect.bisect_right(days, day)
                migration_rows.append(MigrationCount(
                    day=day, migration=migration, step=step,
                    sites=points[latest - 1][1] if latest else 0))
                day += datetime.timedelta(days=1)
    with transaction.atomic():
        ScenarioCount.objects.filter(day__range=(first, last)).delete()
        MigrationCount.objects.filter(day__range=(first, last)).delete()
        ScenarioCount.objects.bulk_create(scenario_rows, batch_size=5000)
        MigrationCount.objects.bulk_create(migration_rows, batch_size=5000)
    invalidate()  # the trend charts cached with the pages are drawn from these counts
    return len(scenario_rows) + len(migration_rows)
