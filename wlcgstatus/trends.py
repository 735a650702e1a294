"""Figures over time: an experiment's compliance classes and a migration's burndown.

They are read from the daily counts (ScenarioCount, MigrationCount) that the nightly task
writes and `backfill_snapshots` rebuilds from history, so that what a trend costs is bounded
by the number of days it spans, not by the number of sites or of history rows. The last point
is the live figure of the day shown, which tonight's count has not stored yet.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from experiments.models import Compliance

from .models import MigrationCount, ScenarioCount
from .summary import ExperimentSummary, MigrationProgress


@dataclass
class Trend:
    """Counts over time, one line per label, each a count per day (None: not counted that
    day); only the days where a count changed are kept (and the last), which is exact for
    lines drawn as steps."""

    days: list[datetime.date]
    lines: dict[str, list[int | None]]

    @property
    def rows(self) -> list[tuple[datetime.date, list[int | None]]]:
        """Day by day, newest first: the shape of a table."""
        return [(day, [counts[index] for counts in self.lines.values()])
                for index, day in reversed(list(enumerate(self.days)))]

    @property
    def monthly_rows(self) -> list[tuple[datetime.date, list[int | None]]]:
        """`rows`, keeping of each month only its last day: a table short enough for a
        report, each row still the counts as they were on its day."""
        months = set()
        kept = []
        for day, counts in self.rows:
            if (day.year, day.month) not in months:
                months.add((day.year, day.month))
                kept.append((day, counts))
        return kept


def _trend(by_day: dict[datetime.date, dict[str, int]], labels: list[str]) -> Trend:
    days, lines, previous = [], {label: [] for label in labels}, None
    ordered = sorted(by_day)
    for day in ordered:
        counts = [by_day[day].get(label) for label in labels]
        if counts == previous and day != ordered[-1]:
            continue
        days.append(day)
        for label, n in zip(labels, counts, strict=True):
            lines[label].append(n)
        previous = counts
    return Trend(days, lines)


def compliance_trend(summary: ExperimentSummary, day: datetime.date) -> Trend:
    """The experiment's sites per compliance class, every day counted up to `day`, whose
    figures are the summary's."""
    labels = [compliance.label for compliance in Compliance]
    by_day: dict[datetime.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(labels, 0))
    for counted, compliance, n in (
            ScenarioCount.objects.filter(experiment=summary.experiment, day__lt=day)
            .values("day", "scenario__compliance").annotate(n=Sum("sites")).order_by("day")
            .values_list("day", "scenario__compliance", "n")):
        by_day[counted][Compliance(compliance or Compliance.UNKNOWN).label] += n
    by_day[day] = {figure.label: figure.count for figure in summary.compliance}
    return _trend(by_day, labels)


def migration_burndown(progress: MigrationProgress, day: datetime.date) -> Trend:
    """Per step, the sites serving the experiment that had not done it, every day counted up
    to `day`, whose figures are the progress given."""
    migration = progress.migration
    serving = dict(ScenarioCount.objects.filter(experiment_id=migration.experiment_id,
                                                day__lt=day)
                   .values("day").annotate(n=Sum("sites")).order_by("day")
                   .values_list("day", "n"))
    names = {step.step.id: step.step.name for step in progress.steps}
    by_day: dict[datetime.date, dict[str, int]] = defaultdict(dict)
    for counted, step_id, done in (MigrationCount.objects
                                   .filter(migration=migration, day__lt=day)
                                   .values_list("day", "step_id", "sites")):
        if counted in serving and step_id in names:
            by_day[counted][names[step_id]] = serving[counted] - done
    by_day[day] = {step.step.name: progress.total - step.done for step in progress.steps}
    return _trend(by_day, list(names.values()))
