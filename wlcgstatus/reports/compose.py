"""The meeting report's content: per experiment its plan, the figures behind it as of a day,
and what changed since an earlier day. Pure data; `render` turns it into files."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from experiments.models import Experiment, Migration, Scenario
from sites.models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    SiteException,
    SiteMigration,
)
from sites.timeline import end_of, scenarios_on

from ..summary import ExperimentSummary, migration_series, summarise


@dataclass
class ScenarioChange:
    site: str
    old: Scenario | None
    new: Scenario | None
    when: datetime.datetime


@dataclass
class ExceptionEvent:
    site: str
    kind: str
    what: str  # granted, renewed, expired, revoked
    day: datetime.date
    expires_on: datetime.date | None
    reason: str


@dataclass
class StepDone:
    site: str
    migration: str
    step: str
    day: datetime.date


@dataclass
class Changes:
    scenarios: list[ScenarioChange] = field(default_factory=list)
    exceptions: list[ExceptionEvent] = field(default_factory=list)
    steps: list[StepDone] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.scenarios or self.exceptions or self.steps)


@dataclass
class Section:
    experiment: Experiment
    summary: ExperimentSummary
    workloads: list[tuple[str, int]]
    exceptions: list[SiteException]  # active at the report's date
    changes: Changes | None


@dataclass
class MeetingReport:
    as_of: datetime.date
    since: datetime.date | None
    sections: list[Section]
    illustrative: bool


def compose(as_of: datetime.date, since: datetime.date | None = None) -> MeetingReport:
    experiments = list(Experiment.objects.all())
    ids = [e.id for e in experiments]
    state = scenarios_on(as_of, ids)
    counts: dict[int, Counter] = defaultdict(Counter)
    for (_site, experiment_id), scenario_id in state.items():
        counts[experiment_id][scenario_id] += 1
    summaries = summarise(as_of, experiments, scenario_counts=counts)
    for summary in summaries:
        _progress_as_of(summary, as_of)
    workloads = _workloads(state)
    scenarios = Scenario.objects.in_bulk()
    sections = []
    for experiment, summary in zip(experiments, summaries, strict=True):
        sections.append(Section(
            experiment=experiment,
            summary=summary,
            workloads=workloads[experiment.id],
            exceptions=list(SiteException.objects.filter(experiment=experiment)
                            .active_on(as_of).select_related("site", "kind")
                            .order_by("expires_on", "site__name")),
            changes=_changes(experiment, since, as_of, scenarios) if since else None,
        ))
    return MeetingReport(
        as_of=as_of, since=since, sections=sections,
        illustrative=CapabilityValue.objects.filter(source=CapabilityValue.Source.DEMO).exists(),
    )


def _workloads(state: dict[tuple[int, int], int | None]) -> dict[int, list[tuple[str, int]]]:
    """Sites per experiment by the workloads their assessment allows."""
    labels = {(True, True): "Production and user jobs", (True, False): "Production jobs only",
              (False, True): "User jobs only", (False, False): "No jobs"}
    tally: dict[int, Counter] = defaultdict(Counter)
    for site_id, experiment_id, production, user in Assessment.objects.values_list(
            "site_id", "experiment_id", "allows_production", "allows_user_jobs"):
        if (site_id, experiment_id) in state:
            tally[experiment_id][labels[production, user]] += 1
    workloads: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for experiment_id, counter in tally.items():
        workloads[experiment_id] = counter.most_common()
    return workloads


def _progress_as_of(summary: ExperimentSummary, as_of: datetime.date) -> None:
    """Each step's sites done at the end of the day, from the migration's history."""
    for progress in summary.migrations:
        series = migration_series(progress.migration, as_of)
        for step in progress.steps:
            points = [n for day, n in series.get(step.step, []) if day <= as_of]
            step.done = points[-1] if points else 0
            step.today = as_of


def _changes(experiment: Experiment, since: datetime.date, as_of: datetime.date,
             scenarios: dict[int, Scenario]) -> Changes:
    start, end = end_of(since), end_of(as_of)
    changes = Changes()

    # Sites whose scenario differs at the end from what it was at the start.
    first_old, last_new, when = {}, {}, {}
    for site, old, new, at in (AssessmentChange.objects
                               .filter(experiment=experiment, changed_at__gte=start,
                                       changed_at__lt=end)
                               .order_by("changed_at", "id")
                               .values_list("site__name", "old_scenario_id", "new_scenario_id",
                                            "changed_at")):
        first_old.setdefault(site, old)
        last_new[site], when[site] = new, at
    changes.scenarios = [
        ScenarioChange(site, scenarios.get(first_old[site]), scenarios.get(last_new[site]),
                       when[site])
        for site in sorted(last_new) if first_old[site] != last_new[site]
    ]

    exceptions = SiteException.objects.filter(experiment=experiment).select_related("site",
                                                                                    "kind")
    for exception in exceptions.filter(granted_on__gt=since, granted_on__lte=as_of):
        changes.exceptions.append(_event(exception, "granted", exception.granted_on))
    for exception in exceptions.filter(expires_on__gte=since, expires_on__lt=as_of,
                                       revoked_on=None):
        changes.exceptions.append(_event(exception, "expired", exception.expires_on))
    for exception in exceptions.filter(revoked_on__gt=since, revoked_on__lte=as_of):
        changes.exceptions.append(_event(exception, "revoked", exception.revoked_on))
    changes.exceptions += _renewals(experiment, start, end)
    changes.exceptions.sort(key=lambda event: (event.day, event.site))

    changes.steps = _steps_done(experiment, start, end)
    return changes


def _event(exception: SiteException, what: str, day: datetime.date) -> ExceptionEvent:
    return ExceptionEvent(exception.site.name, exception.kind.name, what, day,
                          exception.expires_on, exception.reason)


def _renewals(experiment: Experiment, start: datetime.datetime, end: datetime.datetime
              ) -> list[ExceptionEvent]:
    """Exceptions whose expiry was moved later within the period, from their history."""
    events = []
    previous: dict[int, datetime.date | None] = {}
    records = (SiteException.history.filter(experiment_id=experiment.id, history_date__lt=end)
               .select_related("site", "kind").order_by("history_date"))
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record.expires_on
        if (record.history_date >= start and record.history_type == "~" and before
                and record.expires_on and record.expires_on > before):
            events.append(ExceptionEvent(record.site.name, record.kind.name, "renewed",
                                         record.history_date.date(), record.expires_on,
                                         record.history_change_reason or record.reason))
    return events


def _steps_done(experiment: Experiment, start: datetime.datetime, end: datetime.datetime
                ) -> list[StepDone]:
    """Migration steps sites completed within the period, from their history."""
    done = []
    migrations = Migration.objects.filter(experiment=experiment).prefetch_related("steps")
    for migration in migrations:
        steps = {step.id: step for step in migration.steps.all()}
        reached: dict[int, int] = {}
        records = (SiteMigration.history.filter(migration_id=migration.id, history_date__lt=end)
                   .select_related("site").order_by("history_date"))
        for record in records:
            position = steps[record.completed_step_id].position if record.completed_step_id \
                else 0
            before = reached.get(record.id, 0)
            reached[record.id] = position
            if record.history_date >= start and position > before:
                done += [StepDone(record.site.name, migration.name, step.name,
                                  record.history_date.date())
                         for step in steps.values() if before < step.position <= position]
    return sorted(done, key=lambda step: (step.day, step.site))
