"""Dated snapshots of the counts that over-time charts are drawn from."""

import datetime
from collections import Counter

from django.db import transaction

from experiments.models import Migration
from sites.timeline import scenarios_on

from .models import MigrationCount, ScenarioCount
from .summary import migration_series


def take_snapshot(day: datetime.date) -> int:
    """Store the counts as they stood at the end of `day` (rebuilt from the change history
    for a past day), replacing any taken for that day. Returns the rows written."""
    scenario_counts = Counter(
        (experiment_id, scenario_id)
        for (_site, experiment_id), scenario_id in scenarios_on(day).items())
    migration_rows = []
    for migration in Migration.objects.prefetch_related("steps"):
        for step, points in migration_series(migration, day).items():
            done = [n for point_day, n in points if point_day <= day]
            migration_rows.append(MigrationCount(day=day, migration=migration, step=step,
                                                 sites=done[-1] if done else 0))
    with transaction.atomic():
        ScenarioCount.objects.filter(day=day).delete()
        MigrationCount.objects.filter(day=day).delete()
        ScenarioCount.objects.bulk_create(
            ScenarioCount(day=day, experiment_id=experiment_id, scenario_id=scenario_id,
                          sites=sites)
            for (experiment_id, scenario_id), sites in scenario_counts.items())
        MigrationCount.objects.bulk_create(migration_rows)
    return len(scenario_counts) + len(migration_rows)
