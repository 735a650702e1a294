"""The meeting report's content: per experiment its plan, the figures behind it as of a day,
and what changed since an earlier day. Pure data; `render` turns it into files."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from experiments.models import (
    ExceptionKind,
    Experiment,
    MigrationStep,
    PolicyRule,
    Scenario,
)
from sites.models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    SiteException,
    SiteMigration,
)
from sites.timeline import end_of, exceptions_on, values_on

from ..past import status_on
from ..summary import ExperimentSummary
from ..trends import Trend, compliance_trend


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

    @property
    def count(self) -> int:
        return len(self.scenarios) + len(self.exceptions) + len(self.steps)

    def first(self, n: int) -> Changes:
        """At most `n` changes of each kind: what a page shows of a long period."""
        return Changes(self.scenarios[:n], self.exceptions[:n], self.steps[:n])


@dataclass
class Section:
    experiment: Experiment
    summary: ExperimentSummary
    workloads: list[tuple[str, int]]
    trend: Trend  # the compliance classes over time, up to the report's date
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
    status = status_on(as_of, experiments)
    workloads = _workloads(status.state, as_of)
    changes = (changes_between(experiments, since, as_of, status.scenarios) if since
               else {})
    sections = []
    for experiment, summary in zip(experiments, status.summaries, strict=True):
        sections.append(Section(
            experiment=experiment,
            summary=summary,
            workloads=workloads[experiment.id],
            trend=compliance_trend(summary, as_of),
            exceptions=status.active_exceptions(experiment.id),
            changes=changes[experiment.id] if since else None,
        ))
    return MeetingReport(
        as_of=as_of, since=since, sections=sections,
        illustrative=CapabilityValue.objects.filter(source=CapabilityValue.Source.DEMO).exists(),
    )


def _workloads(state: dict[tuple[int, int], int | None], day: datetime.date
               ) -> dict[int, list[tuple[str, int]]]:
    """Sites per experiment by the workloads allowed there on the day, by the policy as it
    stood then: what the rule or exception kind that decides a site today allowed then, where
    it still gives the scenario the site had; else what the experiment's first rule (or
    exception kind) with that scenario allowed then."""
    labels = {(True, True): "Production and user jobs", (True, False): "Production jobs only",
              (False, True): "User jobs only", (False, False): "No jobs"}
    fields = ("experiment_id", "scenario_id", "allows_production", "allows_user_jobs")
    rules = values_on(PolicyRule, day, (*fields, "position"))
    kinds = values_on(ExceptionKind, day, fields)
    under_scenario = {}
    for outcomes in (kinds.values(), sorted(rules.values(), key=lambda rule: -rule[-1])):
        under_scenario |= {(experiment_id, scenario_id): (production, user)
                           for experiment_id, scenario_id, production, user, *_ in outcomes}
    # An exception decides where it applies, else a rule (as on the experiment page).
    deciding = {(site_id, experiment_id):
                kinds.get(granted or standing) if granted or standing else rules.get(rule_id)
                for site_id, experiment_id, rule_id, granted, standing in
                Assessment.objects.values_list("site_id", "experiment_id", "rule_id",
                                               "exception__kind_id", "standing_exception_id")}
    tally: dict[int, Counter] = defaultdict(Counter)
    for (site_id, experiment_id), scenario_id in state.items():
        decided = deciding.get((site_id, experiment_id))
        if decided and decided[1] == scenario_id:
            allowed = (decided[2], decided[3])
        else:
            allowed = under_scenario.get((experiment_id, scenario_id), (False, False))
        tally[experiment_id][labels[allowed]] += 1
    workloads: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for experiment_id, counter in tally.items():
        workloads[experiment_id] = counter.most_common()
    return workloads


def changes_between(experiments: list[Experiment], since: datetime.date,
                    as_of: datetime.date, scenarios: dict[int, Scenario]) -> dict[int, Changes]:
    """Per experiment (by id), what changed for it after the end of `since`, up to the end
    of `as_of`: sites that changed scenario (or began or stopped serving), exception events
    and migration steps done. The same queries for one experiment or all."""
    start, end = end_of(since), end_of(as_of)
    ids = [experiment.id for experiment in experiments]
    changes = {experiment_id: Changes() for experiment_id in ids}

    # Per site, its state at the start and at the end of the period, where they differ.
    first, last = {}, {}
    for change in (AssessmentChange.objects
                   .filter(experiment_id__in=ids, changed_at__gte=start, changed_at__lt=end)
                   .exclude(event=AssessmentChange.Event.UPDATED)
                   .select_related("site").order_by("changed_at", "id")):
        key = (change.experiment_id, change.site.name)
        first.setdefault(key, change)
        last[key] = change
    for key in sorted(last, key=lambda key: key[1]):
        served_before = first[key].event != AssessmentChange.Event.STARTED
        served_after = last[key].event != AssessmentChange.Event.STOPPED
        old = scenarios.get(first[key].old_scenario_id) if served_before else None
        new = scenarios.get(last[key].new_scenario_id) if served_after else None
        if served_before and served_after and old == new:
            continue
        event = (AssessmentChange.Event.CHANGED if served_before and served_after
                 else AssessmentChange.Event.STARTED if served_after
                 else AssessmentChange.Event.STOPPED)
        changes[key[0]].scenarios.append(
            ScenarioChange(key[1], old, new, last[key].changed_at, event))

    for exception in exceptions_on(as_of, ids):  # as they stood at the end
        events = changes[exception.experiment_id].exceptions
        if since < exception.granted_on <= as_of:
            events.append(_event(exception, "granted", exception.granted_on))
        if (exception.expires_on and since <= exception.expires_on < as_of
                and exception.revoked_on is None):
            events.append(_event(exception, "expired", exception.expires_on))
        if exception.revoked_on and since < exception.revoked_on <= as_of:
            events.append(_event(exception, "revoked", exception.revoked_on))
    for experiment_id, event in _renewals(ids, start, end):
        changes[experiment_id].exceptions.append(event)
    for experiment_id, step in _steps_done(ids, start, end):
        changes[experiment_id].steps.append(step)
    for experiment_changes in changes.values():
        experiment_changes.exceptions.sort(key=lambda event: (event.day, event.site))
        experiment_changes.steps.sort(key=lambda step: (step.day, step.site))
    return changes


def _event(exception: SiteException, what: str, day: datetime.date) -> ExceptionEvent:
    return ExceptionEvent(exception.site.name, exception.kind.name, what, day,
                          exception.expires_on, exception.reason)


def _renewals(experiment_ids: list[int], start: datetime.datetime, end: datetime.datetime
              ) -> list[tuple[int, ExceptionEvent]]:
    """Exceptions whose expiry was moved later within the period, from their history, with
    their experiment's id."""
    events = []
    previous: dict[int, datetime.date | None] = {}
    records = (SiteException.history.filter(experiment_id__in=experiment_ids,
                                            history_date__lt=end)
               .select_related("site", "kind").order_by("history_date"))
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record.expires_on
        if (record.history_date >= start and record.history_type == "~" and before
                and record.expires_on and record.expires_on > before):
            events.append((record.experiment_id, ExceptionEvent(
                record.site.name, record.kind.name, "renewed", record.history_date.date(),
                record.expires_on, record.history_change_reason or record.reason)))
    return events


def _steps_done(experiment_ids: list[int], start: datetime.datetime, end: datetime.datetime
                ) -> list[tuple[int, StepDone]]:
    """Migration steps sites completed within the period, from their history, with their
    experiment's id."""
    steps: dict[int, list[MigrationStep]] = defaultdict(list)  # migration id → its steps
    for step in (MigrationStep.objects.filter(migration__experiment_id__in=experiment_ids)
                 .select_related("migration").order_by("position")):
        steps[step.migration_id].append(step)
    positions = {step.id: step.position for each in steps.values() for step in each}
    done = []
    reached: dict[int, int] = {}
    # Every record up to the end (the position before the period is the last one before
    # it), as plain values: a year at 20,000 sites is tens of thousands of them.
    for state_id, migration_id, step_id, when, site in (
            SiteMigration.history.filter(migration_id__in=steps, history_date__lt=end)
            .order_by("history_date")
            .values_list("id", "migration_id", "completed_step_id", "history_date",
                         "site__name")):
        position = positions[step_id] if step_id else 0
        before = reached.get(state_id, 0)
        reached[state_id] = position
        if when >= start and position > before:
            done += [(step.migration.experiment_id,
                      StepDone(site, step.migration.name, step.name, when.date()))
                     for step in steps[migration_id] if before < step.position <= position]
    return done
