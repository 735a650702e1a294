"""The figures behind the overview, the experiment pages and the report: per experiment, its
sites by scenario and compliance class, its migrations' progress and its exceptions.

Every figure comes from a handful of aggregate queries over stored assessments, whatever the
number of sites; each figure also knows the sites-table filter that lists the sites behind it.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse

from experiments.models import (
    Compliance,
    ExceptionKind,
    Experiment,
    Migration,
    MigrationStep,
    Scenario,
)
from sites.history import BASELINE
from sites.models import (
    Assessment,
    ExceptionFigure,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
)


def sites_url(**filters) -> str:
    """The sites table filtered as given, e.g. sites_url(experiment="cms", scenario=...)."""
    return f"{reverse('sites:site_list')}?{urlencode(filters)}"


@dataclass
class Figure:
    label: str
    count: int
    url: str
    colour: str = ""
    share: int = 0  # whole percent of the experiment's sites; an experiment's add up to 100
    key: str = ""  # the scenario's slug, the compliance class or the exception state
    attention: bool = False  # a count above zero calls for action (exceptions running out)


@dataclass
class StepProgress:
    step: MigrationStep
    done: int
    total: int
    today: datetime.date

    @property
    def share(self) -> float:
        return 100 * self.done / self.total if self.total else 0.0

    @property
    def overdue(self) -> bool:
        return bool(self.step.due_on and self.step.due_on < self.today
                    and self.done < self.total)


@dataclass
class MigrationProgress:
    migration: Migration
    steps: list[StepProgress]
    total: int  # sites taking part: every site serving the experiment


@dataclass
class ExperimentSummary:
    experiment: Experiment
    total: int = 0
    scenarios: list[Figure] = field(default_factory=list)
    compliance: list[Figure] = field(default_factory=list)
    exceptions: list[Figure] = field(default_factory=list)
    migrations: list[MigrationProgress] = field(default_factory=list)
    # Sites whose capabilities no one had confirmed for CAPABILITY_CONFIRM_DAYS: they keep
    # their class, flagged.
    stale: Figure | None = None
    # The experiment's standing exceptions, each with `sites`: how many sites it applies to.
    standing: list[ExceptionKind] = field(default_factory=list)

    @property
    def url(self) -> str:
        return sites_url(experiment=self.experiment.slug)


@dataclass
class PastCounts:
    """What a summary counts, as it stood at the end of a past day (rebuilt from history):
    per experiment id, its sites per scenario id (None: unknown), per exception figure and
    stale."""

    scenarios: Mapping[int, Mapping[int | None, int]]
    exceptions: Mapping[str, Mapping[int, int]]
    stale: Mapping[int, int]
    by_site_kind: Mapping[tuple[int, str], int]  # (experiment id, site kind) → sites served


def summarise(today: datetime.date, experiments: list[Experiment] | None = None,
              past: PastCounts | None = None) -> list[ExperimentSummary]:
    """One summary per experiment (all of them unless given), in a constant number of
    queries: of the stored assessments and exceptions, or of the counts of a past day."""
    experiments = experiments if experiments is not None else list(Experiment.objects.all())
    ids = [e.id for e in experiments]
    scenarios = {s.id: s for s in Scenario.objects.all()}
    if past is None:
        counts, stale = _scenario_counts(ids), _stale_counts(ids)
        exceptions = _exception_counts(ids, today)
    else:
        counts, stale, exceptions = past.scenarios, past.stale, dict(past.exceptions)
    standing = standing_exceptions(ids, None if past is None else past.by_site_kind)
    exceptions[ExceptionFigure.STANDING] = {
        experiment_id: sum(kind.sites for kind in kinds)
        for experiment_id, kinds in standing.items()}
    # A past day's progress is rebuilt by the caller, from the history (wlcgstatus/past.py).
    migrations = _migration_progress(ids, today) if past is None else defaultdict(list)

    summaries = []
    for experiment in experiments:
        by_scenario = counts.get(experiment.id, {})
        total = sum(by_scenario.values())
        summary = ExperimentSummary(experiment, total, migrations=migrations[experiment.id],
                                    standing=standing[experiment.id])
        # Sites of unknown scenario are a segment of their own, in the Unknown class's colour.
        unknown = by_scenario.get(None, 0)
        shown = [scenario for scenario in scenarios.values() if by_scenario.get(scenario.id)]
        shares = whole_percents([by_scenario[scenario.id] for scenario in shown] + [unknown])
        for scenario, share in zip(shown, shares, strict=False):
            summary.scenarios.append(Figure(
                scenario.short_name, by_scenario[scenario.id],
                sites_url(experiment=experiment.slug, scenario=scenario.slug),
                scenario.colour, share, scenario.slug))
        if unknown:
            summary.scenarios.append(Figure(
                Compliance.UNKNOWN.label, unknown,
                sites_url(experiment=experiment.slug, compliance=Compliance.UNKNOWN),
                Compliance.UNKNOWN.colour, shares[-1], Compliance.UNKNOWN.value))
        per_class = [unknown if compliance == Compliance.UNKNOWN else
                     sum(count for scenario_id, count in by_scenario.items()
                         if scenario_id and scenarios[scenario_id].compliance == compliance)
                     for compliance in Compliance]
        for compliance, n, share in zip(Compliance, per_class, whole_percents(per_class),
                                        strict=True):
            summary.compliance.append(Figure(
                compliance.label, n,
                sites_url(experiment=experiment.slug, compliance=compliance.value),
                compliance.colour, share, compliance.value))
        summary.stale = Figure(
            f"not confirmed for over {settings.CAPABILITY_CONFIRM_DAYS} days",
            stale.get(experiment.id, 0),
            sites_url(experiment=experiment.slug, stale=settings.CAPABILITY_CONFIRM_DAYS),
            key="stale")
        for figure in ExceptionFigure:
            summary.exceptions.append(Figure(
                figure.label, exceptions[figure].get(experiment.id, 0),
                sites_url(experiment=experiment.slug, exception=figure.value), key=figure.value,
                attention=figure.needs_attention))
        summaries.append(summary)
    return summaries


def _scenario_counts(experiment_ids: list[int]) -> dict[int, dict[int | None, int]]:
    counts: dict[int, dict[int | None, int]] = defaultdict(dict)
    for row in (Assessment.objects.filter(experiment_id__in=experiment_ids)
                .values("experiment_id", "scenario_id").annotate(n=Count("id"))):
        counts[row["experiment_id"]][row["scenario_id"]] = row["n"]
    return counts


def standing_exceptions(experiment_ids: list[int],
                        by_site_kind: Mapping[tuple[int, str], int] | None = None
                        ) -> dict[int, list[ExceptionKind]]:
    """Per experiment, its standing exceptions, each with `sites`: how many of the sites
    serving the experiment are of the kind it applies to (now, or as `by_site_kind` counts
    the sites served on a past day)."""
    sites = by_site_kind if by_site_kind is not None else {
        (experiment_id, site_kind): n for experiment_id, site_kind, n in
        Assessment.objects.filter(experiment_id__in=experiment_ids)
        .values("experiment_id", "site__kind").annotate(n=Count("id"))
        .values_list("experiment_id", "site__kind", "n")}
    kinds: dict[int, list[ExceptionKind]] = defaultdict(list)
    for kind in ExceptionKind.objects.standing().filter(experiment_id__in=experiment_ids):
        kind.sites = sites.get((kind.experiment_id, kind.applies_to), 0)
        kinds[kind.experiment_id].append(kind)
    return kinds


def _stale_counts(experiment_ids: list[int]) -> dict[int, int]:
    return dict(Assessment.objects.filter(experiment_id__in=experiment_ids,
                                          site__in=Site.objects.stale())
                .values("experiment_id").annotate(n=Count("id"))
                .values_list("experiment_id", "n"))


def whole_percents(counts: list[int]) -> list[int]:
    """Each count as a whole percentage of their sum, the percentages adding up to 100
    (largest remainder: each rounded down, then a point more to the largest remainders)."""
    total = sum(counts)
    if not total:
        return [0] * len(counts)
    exact = [100 * count / total for count in counts]
    shares = [int(share) for share in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[:100 - sum(shares)]:
        shares[i] += 1
    return shares


def _exception_counts(experiment_ids: list[int], today: datetime.date) -> dict[str, dict]:
    """Sites per experiment with an active exception, one expiring soon, or one that expired
    while the site still falls short. Only sites that still serve the experiment count."""
    exceptions = SiteException.objects.filter(
        Exists(ExperimentSite.objects.serving().filter(site=OuterRef("site"),
                                                       experiment=OuterRef("experiment"))),
        experiment_id__in=experiment_ids)

    def per_experiment(queryset, site_field: str = "site") -> dict[int, int]:
        return dict(queryset.values("experiment_id")
                    .annotate(n=Count(site_field, distinct=True))
                    .values_list("experiment_id", "n"))

    assessments = Assessment.objects.filter(experiment_id__in=experiment_ids)
    return {
        "active": per_experiment(exceptions.active_on(today)),
        "expiring": per_experiment(exceptions.expiring_soon(today)),
        "lapsed": per_experiment(assessments.relying_on_lapsed_exception()),
    }


# What a migration's progress reads of its steps: prefetch these with the migrations given.
STEPS_PREFETCHED = ("steps__target_period", "steps__done_in")


def migration_progress(migrations: list[Migration], today: datetime.date
                       ) -> list[MigrationProgress]:
    """The progress of the given migrations (their steps prefetched: STEPS_PREFETCHED), in
    their order, in a constant number of queries."""
    totals, done = _progress_counts(list({m.experiment_id for m in migrations}))
    return [_progress(migration, totals, done, today) for migration in migrations]


def _migration_progress(experiment_ids: list[int], today: datetime.date
                        ) -> dict[int, list[MigrationProgress]]:
    """The progress of every migration of the experiments, by experiment."""
    totals, done = _progress_counts(experiment_ids)
    progress = defaultdict(list)
    for migration in (Migration.objects.filter(experiment_id__in=experiment_ids)
                      .select_related("experiment").prefetch_related(*STEPS_PREFETCHED)):
        progress[migration.experiment_id].append(_progress(migration, totals, done, today))
    return progress


def _progress_counts(experiment_ids: list[int]) -> tuple[dict, dict]:
    """The sites serving each experiment, and per migration the sites by the position of
    the step they completed. Every site serving an experiment takes part in its migrations:
    one that has recorded or reached no step has not started. A site serves an experiment
    where it has an assessment for it (the recomputation keeps one for every name of a site
    in service, none for a retired site): one row per pair, found through its unique index,
    where the experiment's names may be several a site."""
    assessed = Assessment.objects.filter(experiment_id__in=experiment_ids).order_by()
    totals = dict(assessed.values("experiment_id").annotate(n=Count("id"))
                  .values_list("experiment_id", "n"))
    done = defaultdict(lambda: defaultdict(int))  # migration -> step position -> sites
    for row in (SiteMigration.objects.filter(
                    Exists(Assessment.objects.filter(
                        site=OuterRef("site"), experiment=OuterRef("migration__experiment"))),
                    migration__experiment_id__in=experiment_ids)
                .values("migration_id", "completed_step__position").annotate(n=Count("id"))):
        done[row["migration_id"]][row["completed_step__position"]] += row["n"]
    return totals, done


def _progress(migration: Migration, totals: dict, done: dict, today: datetime.date
              ) -> MigrationProgress:
    reached = done[migration.id]
    total = totals.get(migration.experiment_id, 0)
    return MigrationProgress(
        migration,
        [StepProgress(step, sum(n for position, n in reached.items()
                                if position and position >= step.position), total, today)
         for step in migration.steps.all()],
        total,
    )


def migration_series(migration: Migration, today: datetime.date
                     ) -> dict[MigrationStep, list[tuple[datetime.date, int]]]:
    """For each step, how many sites had completed it, at each date something changed."""
    steps = list(migration.steps.all())
    events = _migration_events([migration])[migration.id]
    reached: dict[int, int] = {}
    series: dict[MigrationStep, list[tuple[datetime.date, int]]] = {step: [] for step in steps}
    for index, (day, _order, site_id, position) in enumerate(events):
        reached[site_id] = position
        if index + 1 < len(events) and events[index + 1][0] == day:
            continue  # one point per day, after all of that day's changes
        for step in steps:
            series[step].append((day, sum(1 for p in reached.values() if p >= step.position)))
    if events and events[-1][0] < today:  # the lines run on to today
        for points in series.values():
            points.append((today, points[-1][1]))
    return series


def positions_on(migrations: list[Migration], day: datetime.date) -> dict[int, dict[int, int]]:
    """Per migration (by id), site id → the position of the last step it had completed at
    the end of the day (0: none), for every site that had a state in the migration then. The
    same two queries for one migration or many."""
    positions: dict[int, dict[int, int]] = {migration.id: {} for migration in migrations}
    for migration_id, events in _migration_events(migrations).items():
        reached = positions[migration_id]
        for event_day, _order, site_id, position in events:
            if event_day > day:
                break
            reached[site_id] = position
    return positions


def _migration_events(migrations: list[Migration]
                      ) -> dict[int, list[tuple[datetime.date, int, int, int]]]:
    """Per migration (by id), every change of a site's state in it, as (day, order recorded,
    site, the position of the step completed), a day's changes in the order made. Read from
    the change history of the sites' migration states. A state that predates the history
    (loaded data: its baseline record, or no record at all) counts from the day the state
    gives, not from the day it was loaded."""
    position_of = {step.id: step.position for migration in migrations
                   for step in migration.steps.all()}
    events: dict[int, list[tuple[datetime.date, int, int, int]]] = {
        migration.id: [] for migration in migrations}
    history = SiteMigration.history.filter(migration_id__in=events)
    # As plain tuples: a year at 20,000 sites is tens of thousands of records.
    for migration_id, site_id, step_id, history_type, when, reason, updated_on, history_id in (
            history.order_by("history_date", "history_id")
            .values_list("migration_id", "site_id", "completed_step_id", "history_type",
                         "history_date", "history_change_reason", "updated_on",
                         "history_id")):
        position = 0 if history_type == "-" else position_of.get(step_id, 0)
        day = updated_on if reason == BASELINE else when.date()
        events[migration_id].append((day, history_id, site_id, position))
    # Those without a record, in a subquery: the ids of 20,000 sites with one, sent as
    # parameters, cost more to send than the query to run.
    recorded = history.filter(site_id=OuterRef("site_id"), migration_id=OuterRef("migration_id"))
    for migration_id, site_id, step_id, day in (
            SiteMigration.objects.filter(migration_id__in=events).exclude(Exists(recorded))
            .values_list("migration_id", "site_id", "completed_step_id", "updated_on")):
        events[migration_id].append((day, 0, site_id, position_of.get(step_id, 0)))
    for each in events.values():
        each.sort()
    return events
