"""The policy workbench's dry run: what a proposed policy would make of the whole fleet,
against what the policy as stored makes of it. Both are evaluated in memory by the engine,
from the same inputs read once; nothing is written."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from django.utils import timezone

from experiments.models import Compliance, Experiment, Migration, MigrationStep, Scenario

from .assessment import Result
from .models import Assessment, ExperimentSite, Site, SiteMigration
from .progress import completed_step
from .recompute import Policy, load_grants, load_reported, policy_of

NOT_STARTED = "not started"


@dataclass(frozen=True)
class Count:
    """How many sites are in something, now and as proposed."""

    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class ClassCount(Count):
    """… in a compliance class of an experiment."""

    experiment: Experiment
    compliance: Compliance


@dataclass(frozen=True)
class ChangedSite:
    """A site the proposal changes, for an experiment."""

    site_id: int
    site_name: str
    country: str
    tier: int | None
    experiment: Experiment


@dataclass(frozen=True)
class SiteChange(ChangedSite):
    """… its scenario (or its scenario's compliance class)."""

    old_scenario: Scenario | None
    new_scenario: Scenario | None
    old_compliance: Compliance
    new_compliance: Compliance
    reason: str  # why the proposed policy decides as it does

    CSV_HEADERS = ("site", "country", "tier", "experiment", "scenario now", "scenario proposed",
                   "compliance now", "compliance proposed", "why")

    def csv_row(self) -> list:
        return [self.site_name, self.country, self.tier, self.experiment.name,
                getattr(self.old_scenario, "name", ""), getattr(self.new_scenario, "name", ""),
                self.old_compliance.label, self.new_compliance.label, self.reason]


@dataclass(frozen=True)
class DryRun:
    assessed: int  # the (site, experiment) pairs evaluated
    classes: list[ClassCount]
    changes: list[SiteChange]

    @property
    def sites_changed(self) -> int:
        return len({change.site_id for change in self.changes})


def dry_run(experiments: list[Experiment], proposed: Policy, proposed_scenarios:
            dict[int, Scenario], today: datetime.date | None = None) -> DryRun:
    """The effect on every site serving these experiments of replacing their policy by
    `proposed`, with the scenarios as proposed (a scenario edit changes compliance classes,
    not the scenario any site gets)."""
    today = today or timezone.localdate()
    ids = [experiment.id for experiment in experiments]
    current = policy_of(ids)
    scenarios_now = Scenario.objects.in_bulk()
    # A site may have several names for one experiment: it is assessed once.
    served = sorted(set(ExperimentSite.objects.serving().filter(experiment_id__in=ids)
                        .values_list("site_id", "experiment_id")))
    sites = {site_id: (name, kind, country, tier) for site_id, name, kind, country, tier in
             Site.objects.filter(retired_on=None)
             .values_list("id", "name", "kind", "country", "tier")}
    reported = load_reported(None)
    grants_now = load_grants(None, ids, current.outcomes)
    grants_proposed = load_grants(None, ids, proposed.outcomes)

    by_id = {experiment.id: experiment for experiment in experiments}
    counts: Counter = Counter()
    changes = []
    for site_id, experiment_id in served:
        name, kind, country, tier = sites[site_id]
        before = current.assess(experiment_id, reported[site_id], kind,
                                grants_now[site_id, experiment_id], today)
        after = proposed.assess(experiment_id, reported[site_id], kind,
                                grants_proposed[site_id, experiment_id], today)
        old, new = _scenario(before, scenarios_now), _scenario(after, proposed_scenarios)
        old_class, new_class = _compliance(old), _compliance(new)
        counts[experiment_id, old_class, "before"] += 1
        counts[experiment_id, new_class, "after"] += 1
        if old != new or old_class != new_class:
            changes.append(SiteChange(site_id, name, country, tier, by_id[experiment_id], old,
                                      new, old_class, new_class, after.reason))
    classes = [ClassCount(before=counts[experiment.id, compliance, "before"],
                          after=counts[experiment.id, compliance, "after"],
                          experiment=experiment, compliance=compliance)
               for experiment in experiments for compliance in Compliance]
    changes.sort(key=lambda change: (change.experiment.position, change.site_name))
    return DryRun(len(served), classes, changes)


def _scenario(result: Result, scenarios: dict[int, Scenario]) -> Scenario | None:
    return scenarios[result.outcome.scenario_id] if result.outcome else None


def _compliance(scenario: Scenario | None) -> Compliance:
    return Compliance(scenario.compliance) if scenario else Compliance.UNKNOWN


@dataclass(frozen=True)
class StepCount(Count):
    """… at a migration's step as the last they completed."""

    step: str


@dataclass(frozen=True)
class ProgressChange(ChangedSite):
    """… its progress in a migration."""

    old_step: str
    new_step: str

    CSV_HEADERS = ("site", "country", "tier", "step completed now", "step completed as proposed")

    def csv_row(self) -> list:
        return [self.site_name, self.country, self.tier, self.old_step, self.new_step]


@dataclass(frozen=True)
class ProgressDryRun:
    assessed: int  # the sites taking part
    steps: list[StepCount]
    changes: list[ProgressChange]

    @property
    def sites_changed(self) -> int:
        return len(self.changes)


def progress_dry_run(migration: Migration, proposed: list[MigrationStep]) -> ProgressDryRun:
    """The effect on every site serving the migration's experiment of its steps becoming
    `proposed` (each with its conditions; scenarios in `draft_done_in`): derived where every
    proposed step is, else as recorded, each site keeping the step it completed if that
    step stays."""
    now, states = {}, {}
    if migration.pk:  # else a new migration, which no site has started
        now = {step.id: step.name for step in migration.steps.all()}
        states = dict(SiteMigration.objects.filter(migration=migration)
                      .values_list("site_id", "completed_step_id"))
    served = set(ExperimentSite.objects.serving().filter(experiment=migration.experiment)
                 .values_list("site_id", flat=True))
    sites = {site_id: (name, country, tier) for site_id, name, country, tier in
             Site.objects.filter(id__in=served).values_list("id", "name", "country", "tier")}
    steps = sorted(proposed, key=lambda step: step.position)
    derived = bool(steps) and all(step.derived for step in steps)
    if derived:
        reported = load_reported(None)
        scenarios = dict(Assessment.objects.filter(experiment=migration.experiment)
                         .values_list("site_id", "scenario_id"))
    kept = {step.id: step.name for step in steps if step.id is not None}
    before: Counter = Counter()
    after: Counter = Counter()
    changes = []
    for site_id in served:
        old = now.get(states.get(site_id), NOT_STARTED)
        if derived:
            step = completed_step(steps, reported[site_id], scenarios.get(site_id))
            new = step.name if step else NOT_STARTED
        else:
            new = kept.get(states.get(site_id), NOT_STARTED)
        before[old] += 1
        after[new] += 1
        if old != new:
            name, country, tier = sites[site_id]
            changes.append(ProgressChange(site_id, name, country, tier, migration.experiment,
                                          old, new))
    names = list(dict.fromkeys([NOT_STARTED, *now.values(), *(s.name for s in steps)]))
    counts = [StepCount(before=before[name], after=after[name], step=name) for name in names]
    changes.sort(key=lambda change: change.site_name)
    return ProgressDryRun(len(served), counts, changes)
