"""The status at the end of a past day, rebuilt from the recorded history: the figures the
overview, the experiment pages and the report show as of that day. The same engine makes the
pages and the report, so a page as of a day and the report as of that day agree."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Q

from experiments.models import (
    CapabilityDefinition,
    Compliance,
    ExceptionKind,
    Experiment,
    Migration,
    PolicyRule,
    RuleCondition,
    Scenario,
)
from sites.models import (
    Assessment,
    ExceptionFigure,
    ExceptionState,
    Site,
    SiteException,
    SiteMigration,
    stale_before,
)
from sites.timeline import (
    active_on,
    assessed_on,
    confirmed_on,
    end_of,
    exception_figures,
    exceptions_on,
    existing_on,
    objects_on,
    scenarios_on,
    state_on,
    values_on,
)

from .summary import (
    STEPS_PREFETCHED,
    ExperimentSummary,
    MigrationProgress,
    PastCounts,
    StepProgress,
    positions_on,
    summarise,
)


@dataclass
class PastStatus:
    day: datetime.date
    summaries: list[ExperimentSummary]  # in the order of the experiments given
    state: dict[tuple[int, int], int | None]  # (site id, experiment id) → scenario id
    exceptions: dict[int, list[SiteException]]  # per experiment, of the sites serving it
    scenarios: dict[int, Scenario]

    def active_exceptions(self, experiment_id: int) -> list[SiteException]:
        """The experiment's exceptions in force that day, the soonest to expire first."""
        return sorted((e for e in self.exceptions[experiment_id] if active_on(e, self.day)),
                      key=lambda e: (e.expires_on or datetime.date.max, e.site.name))


    def exceptions_listed(self, experiment_id: int) -> list[SiteException]:
        """What the experiment page lists: its exceptions not revoked by then, the soonest
        to expire first, each with its `state` that day (as `with_state` gives it today)."""
        listed = [e for e in self.exceptions[experiment_id]
                  if e.revoked_on is None or e.revoked_on > self.day]
        for exception in listed:
            exception.state = state_on(exception, self.day)
        return sorted(listed, key=lambda e: (e.expires_on or datetime.date.max, e.site.name))


def status_on(day: datetime.date, experiments: list[Experiment]) -> PastStatus:
    """The experiments' summaries as they stood at the end of the day: which sites served
    each and under which scenario, their exceptions as granted, renewed and revoked by then,
    the sites stale then, and each migration's progress of the sites serving then."""
    ids = [e.id for e in experiments]
    state = scenarios_on(day, ids)
    scenarios = Scenario.objects.in_bulk()
    counts: dict[int, Counter] = defaultdict(Counter)
    serving: dict[int, set[int]] = defaultdict(set)  # experiment → the sites serving it then
    for (site_id, experiment_id), scenario_id in state.items():
        counts[experiment_id][scenario_id] += 1
        serving[experiment_id].add(site_id)
    # Each experiment's exceptions as they stood then, of the sites serving it then.
    exceptions = {experiment_id: [] for experiment_id in ids}
    for exception in exceptions_on(day, ids):
        if exception.site_id in serving[exception.experiment_id]:
            exceptions[exception.experiment_id].append(exception)
    # Sites that had reported, but not confirmed it for CAPABILITY_CONFIRM_DAYS by then.
    cutoff, confirmed = stale_before(end_of(day)), confirmed_on(day)
    stale = {experiment_id: sum(1 for site_id in sites_serving
                                if confirmed.get(site_id, cutoff) < cutoff)
             for experiment_id, sites_serving in serving.items()}
    # The sites served then by their kind, which standing exceptions apply to.
    site_kinds = dict(Site.objects.values_list("id", "kind"))
    by_site_kind = Counter((experiment_id, site_kinds[site_id])
                           for site_id, experiment_id in state)
    summaries = summarise(day, experiments, PastCounts(
        counts, _exception_counts(exceptions, state, scenarios, day), stale, by_site_kind))
    _progress_as_of(summaries, day, serving)
    return PastStatus(day, summaries, state, exceptions, scenarios)


def _exception_counts(exceptions: dict[int, list[SiteException]],
                      state: dict[tuple[int, int], int | None],
                      scenarios: dict[int, Scenario], day: datetime.date
                      ) -> dict[str, dict[int, int]]:
    """The exception figures of the day (figure → experiment id → sites), as the pages count
    them today: active, expiring within the warning, and expired while the site, with no
    other exception active, falls short of the policy."""
    figures = exception_figures([e for granted in exceptions.values() for e in granted], day)
    figures["lapsed"] = {pair for pair in figures["lapsed"]
                         if _compliance(scenarios.get(state.get(pair)))
                         == Compliance.NON_COMPLIANT}
    counts: dict[str, dict[int, int]] = {figure: {} for figure in ExceptionFigure}
    for figure in (ExceptionFigure.ACTIVE, ExceptionFigure.EXPIRING, ExceptionFigure.LAPSED):
        tally = Counter(experiment_id for _site_id, experiment_id in figures[figure])
        counts[figure] = {experiment_id: tally[experiment_id] for experiment_id in exceptions}
    return counts


def _compliance(scenario: Scenario | None) -> Compliance:
    return Compliance(scenario.compliance) if scenario else Compliance.UNKNOWN


def _progress_as_of(summaries: list[ExperimentSummary], day: datetime.date,
                    serving: dict[int, set[int]]) -> None:
    """Each experiment's migrations, each step's sites done at the end of the day, from the
    migrations' history (read once for all), of the sites serving the experiment that day."""
    migrations = list(Migration.objects.filter(
        experiment_id__in=[summary.experiment.id for summary in summaries])
        .select_related("experiment").prefetch_related(*STEPS_PREFETCHED))
    positions = positions_on(migrations, day)
    for summary in summaries:
        summary.migrations = [
            progress_on(migration, day, serving[summary.experiment.id], positions[migration.id])
            for migration in migrations if migration.experiment_id == summary.experiment.id]


def progress_on(migration: Migration, day: datetime.date, serving: set[int],
                positions: dict[int, int]) -> MigrationProgress:
    """The migration's progress at the end of the day, of the sites serving then, by the
    positions the sites had reached (`positions_on`)."""
    return MigrationProgress(migration, [
        StepProgress(step, sum(1 for site_id in serving
                               if positions.get(site_id, 0) >= step.position),
                     len(serving), day)
        for step in migration.steps.all()], len(serving))


def migration_progress_on(migrations: list[Migration], day: datetime.date
                          ) -> list[MigrationProgress]:
    """The progress of the given migrations at the end of the day, in their order."""
    state = scenarios_on(day, list({migration.experiment_id for migration in migrations}))
    serving: dict[int, set[int]] = defaultdict(set)
    for site_id, experiment_id in state:
        serving[experiment_id].add(site_id)
    positions = positions_on(migrations, day)
    return [progress_on(migration, day, serving[migration.experiment_id],
                        positions[migration.id]) for migration in migrations]


@dataclass(frozen=True)
class PastStep:
    """A site's state in a migration at the end of a past day, as the migration page lists
    it: plain values, cached with the day's progress."""

    site_id: int
    site_name: str
    step_id: int | None
    updated_on: datetime.date
    recorded_by_id: int | None
    scenario_id: int | None  # the site's scenario for the experiment then


def migration_on(migration: Migration, day: datetime.date
                 ) -> tuple[MigrationProgress, list[PastStep]]:
    """A migration's progress at the end of the day, and the states recorded by then of the
    sites serving its experiment then, the furthest along first, then by site name (as the
    migration page lists them)."""
    experiment_id = migration.experiment_id
    state = scenarios_on(day, [experiment_id])
    progress = progress_on(migration, day, {site_id for site_id, _experiment in state},
                           positions_on([migration], day)[migration.id])
    position = {step.id: step.position for step in migration.steps.all()}
    # The names of the sites with a state in it, now or in its history, in one query.
    names = dict(Site.objects.filter(
        Q(pk__in=SiteMigration.objects.filter(migration=migration).values("site_id"))
        | Q(pk__in=SiteMigration.history.filter(migration_id=migration.id).values("site_id"))
    ).values_list("id", "name"))
    states = [PastStep(site_id, names[site_id], step_id, updated_on, recorded_by_id,
                       state[site_id, experiment_id])
              for site_id, step_id, updated_on, recorded_by_id in values_on(
                  SiteMigration, day, ("site_id", "completed_step_id", "updated_on",
                                       "recorded_by_id"), migration_id=migration.id).values()
              if (site_id, experiment_id) in state]
    states.sort(key=lambda past: (position.get(past.step_id, 0), past.site_name))
    return progress, states


def policy_on(experiment: Experiment, day: datetime.date
              ) -> tuple[list[tuple[PolicyRule, list[RuleCondition]]], list[ExceptionKind]]:
    """The experiment's rules in order, each with its conditions, and its exception kinds, as
    they stood at the end of the day."""
    scenarios = Scenario.objects.in_bulk()
    capabilities = CapabilityDefinition.objects.in_bulk()
    conditions = defaultdict(list)
    for condition in sorted(objects_on(RuleCondition, day, rule__experiment_id=experiment.id),
                            key=lambda condition: condition.pk):
        condition.capability = capabilities[condition.capability_id]
        conditions[condition.rule_id].append(condition)
    rules = sorted(objects_on(PolicyRule, day, experiment_id=experiment.id),
                   key=lambda rule: rule.position)
    kinds = sorted(objects_on(ExceptionKind, day, experiment_id=experiment.id),
                   key=lambda kind: kind.name)
    for outcome in (*rules, *kinds):
        outcome.scenario = scenarios[outcome.scenario_id]
    return [(rule, conditions[rule.pk]) for rule in rules], kinds


def exception_rows_on(day: datetime.date, experiments: list[Experiment], site: str = "",
                      active: bool | None = None) -> list[SiteException | Assessment]:
    """The API's exceptions list at the end of the day: the grants as they stood (each with
    its `state` then), of sites not retired by then, by site, experiment and latest grant
    first; then a row per site served then that a standing exception applies to (an
    Assessment with `standing_kind`), by site and experiment. `site` (a name) and `active`
    filter as the list's filters do."""
    ids = [experiment.id for experiment in experiments]
    position = {experiment.id: experiment.position for experiment in experiments}
    grants = []
    for grant in exceptions_on(day, ids, **({"site__name": site} if site else {})):
        grant.state = state_on(grant, day)
        if grant.site.retired_on and grant.site.retired_on <= day:
            continue
        if active is None or active == (grant.state == ExceptionState.ACTIVE):
            grants.append(grant)
    grants.sort(key=lambda g: (g.granted_on, g.pk), reverse=True)
    grants.sort(key=lambda g: (g.site.name, position[g.experiment_id]))
    standing = []
    if active is not False:
        sites = Site.objects.filter(existing_on(day), **({"name": site} if site else {}))
        for kind in (ExceptionKind.objects.standing().filter(experiment_id__in=ids)
                     .select_related("experiment", "scenario")):
            for served in sites.filter(assessed_on(day, experiment=kind.experiment_id),
                                       kind=kind.applies_to):
                row = Assessment(site=served, experiment=kind.experiment)
                row.standing_kind = kind
                standing.append(row)
        standing.sort(key=lambda row: (row.site.name, row.experiment.position))
    return [*grants, *standing]
