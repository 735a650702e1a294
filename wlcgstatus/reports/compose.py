"""The meeting report's content: per experiment its plan, the figures behind it as of a day,
and what changed since an earlier day. Pure data; `render` turns it into files."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from experiments.models import ExceptionKind, Experiment, Migration, PolicyRule, Scenario
from sites.assessment import Grant
from sites.models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    SiteException,
    SiteMigration,
)
from sites.timeline import end_of, exceptions_on, scenarios_on

from ..summary import ExperimentSummary, migration_series, summarise


@dataclass
class ScenarioChange:
    site: str
    old: Scenario | None
    new: Scenario | None
    when: datetime.datetime
    event: str = AssessmentChange.Event.CHANGED  # or STARTED, STOPPED serving


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
            exceptions=sorted((e for e in exceptions_on(as_of, experiment.id)
                               if _active(e, as_of)),
                              key=lambda e: (e.expires_on or datetime.date.max, e.site.name)),
            changes=_changes(experiment, since, as_of, scenarios) if since else None,
        ))
    return MeetingReport(
        as_of=as_of, since=since, sections=sections,
        illustrative=CapabilityValue.objects.filter(source=CapabilityValue.Source.DEMO).exists(),
    )


def _workloads(state: dict[tuple[int, int], int | None]) -> dict[int, list[tuple[str, int]]]:
    """Sites per experiment by the workloads allowed there on the day: a site's stored
    assessment where its scenario has not changed since, else what the experiment's policy
    allows under the scenario it had."""
    labels = {(True, True): "Production and user jobs", (True, False): "Production jobs only",
              (False, True): "User jobs only", (False, False): "No jobs"}
    under_scenario = {}
    for outcomes in (ExceptionKind.objects, PolicyRule.objects.order_by("-position")):
        under_scenario |= {(experiment_id, scenario_id): (production, user)
                           for experiment_id, scenario_id, production, user in outcomes
                           .values_list("experiment_id", "scenario_id", "allows_production",
                                        "allows_user_jobs")}
    now = {(site_id, experiment_id): (scenario_id, (production, user))
           for site_id, experiment_id, scenario_id, production, user in
           Assessment.objects.values_list("site_id", "experiment_id", "scenario_id",
                                          "allows_production", "allows_user_jobs")}
    tally: dict[int, Counter] = defaultdict(Counter)
    for key, scenario_id in state.items():
        scenario_now, allowed = now.get(key, (None, None))
        if scenario_now != scenario_id or allowed is None:
            allowed = under_scenario.get((key[1], scenario_id), (False, False))
        tally[key[1]][labels[allowed]] += 1
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

    # Per site, its state at the start and at the end of the period, where they differ.
    first, last = {}, {}
    for change in (AssessmentChange.objects
                   .filter(experiment=experiment, changed_at__gte=start, changed_at__lt=end)
                   .select_related("site").order_by("changed_at", "id")):
        first.setdefault(change.site.name, change)
        last[change.site.name] = change
    for site in sorted(last):
        served_before = first[site].event != AssessmentChange.Event.STARTED
        served_after = last[site].event != AssessmentChange.Event.STOPPED
        old = scenarios.get(first[site].old_scenario_id) if served_before else None
        new = scenarios.get(last[site].new_scenario_id) if served_after else None
        if served_before and served_after and old == new:
            continue
        event = (AssessmentChange.Event.CHANGED if served_before and served_after
                 else AssessmentChange.Event.STARTED if served_after
                 else AssessmentChange.Event.STOPPED)
        changes.scenarios.append(ScenarioChange(site, old, new, last[site].changed_at, event))

    for exception in exceptions_on(as_of, experiment.id):  # as they stood at the end
        if since < exception.granted_on <= as_of:
            changes.exceptions.append(_event(exception, "granted", exception.granted_on))
        if (exception.expires_on and since <= exception.expires_on < as_of
                and exception.revoked_on is None):
            changes.exceptions.append(_event(exception, "expired", exception.expires_on))
        if exception.revoked_on and since < exception.revoked_on <= as_of:
            changes.exceptions.append(_event(exception, "revoked", exception.revoked_on))
    changes.exceptions += _renewals(experiment, start, end)
    changes.exceptions.sort(key=lambda event: (event.day, event.site))

    changes.steps = _steps_done(experiment, start, end)
    return changes


def _active(exception: SiteException, day: datetime.date) -> bool:
    return Grant(exception.id, exception.kind.name, None, exception.granted_on,
                 exception.expires_on, exception.revoked_on).active_on(day)


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
