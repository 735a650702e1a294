"""A site's page as of a past day: what it reported, under which names it served which
experiments, what each experiment's policy made of it, its exceptions and its migration steps,
as they stood at the end of the day, rebuilt from the recorded history (timeline.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from experiments.models import (
    CapabilityDefinition,
    Compliance,
    Experiment,
    Migration,
    MigrationStep,
    Scenario,
)

from .cache import cached
from .history import BASELINE, NOT_RECORDED
from .models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
    stale_before,
)
from .timeline import end_of, exceptions_on, state_on, values_on


@dataclass
class PastAssessment:
    """What an experiment's policy made of the site at the end of a past day, as the change
    history recorded it (workloads None: not recorded, in history kept before they were)."""

    experiment: Experiment
    scenario: Scenario | None
    reason: str
    stale: bool
    pilot_credentials: str = ""
    payload_credentials: str = ""
    allows_production: bool | None = None
    allows_user_jobs: bool | None = None

    @property
    def compliance(self) -> Compliance:
        return Compliance(self.scenario.compliance) if self.scenario else Compliance.UNKNOWN


def site_on(site: Site, day: datetime.date) -> dict:
    """The site page's context for the end of the day (sites/views.py `site_detail`)."""
    experiments, definitions, steps = cached("past-site-page", lambda: (
        Experiment.objects.in_bulk(), list(CapabilityDefinition.objects.all()),
        MigrationStep.objects.in_bulk()))
    names = [ExperimentSite(site=site, experiment=experiments[experiment_id], name=name,
                            tier=tier)
             for experiment_id, name, tier in values_on(
                 ExperimentSite, day, ("experiment_id", "name", "tier"), site_id=site.id
             ).values()]
    names.sort(key=lambda n: (n.experiment.position, n.name))
    capabilities = _capabilities(site, day, definitions)
    # Stale: its capabilities, reported, but not confirmed for CAPABILITY_CONFIRM_DAYS then.
    confirmed = max((value.reported_at for _definition, value in capabilities
                     if value and value.reported_at < end_of(day)), default=None)
    stale = confirmed is not None and confirmed < stale_before(end_of(day))
    return {
        "retired_on": site.retired_on if site.retired_on and site.retired_on <= day else None,
        "names": names,
        "capabilities": capabilities,
        "assessments": _assessments(site, day, experiments, stale),
        "exceptions": _exceptions(site, day, list(experiments)),
        "migrations": _migrations(site, day, [n.experiment_id for n in names], steps),
    }


def _capabilities(site: Site, day: datetime.date, definitions: list[CapabilityDefinition]
                  ) -> list[tuple[CapabilityDefinition, CapabilityValue | None]]:
    """Each capability with the value reported by then, as it was then."""
    end = end_of(day)
    then: dict[int, CapabilityValue | None] = {}
    baseline: dict[int, CapabilityValue] = {}
    recorded = set()
    for record in (CapabilityValue.history.filter(site_id=site.id)
                   .select_related("reported_by").order_by("history_date", "history_id")):
        recorded.add(record.capability_id)
        if record.history_date < end:
            then[record.capability_id] = None if record.history_type == "-" else record.instance
        elif record.history_change_reason == BASELINE:
            baseline.setdefault(record.capability_id, record.instance)
    for capability_id, value in baseline.items():
        then.setdefault(capability_id, value)
    for value in CapabilityValue.objects.filter(site=site, reported_at__lt=end).exclude(
            capability_id__in=recorded).select_related("reported_by"):
        then[value.capability_id] = value  # kept as loaded, with no history
    return [(definition, then.get(definition.id)) for definition in definitions]


def _assessments(site: Site, day: datetime.date, experiments: dict[int, Experiment],
                 stale: bool) -> list[PastAssessment]:
    """Per experiment served then: its first change after the day says what it was (with the
    reason of the change before, where recorded); with none since, it is as it is now."""
    end = end_of(day)
    current = {a.experiment_id: a for a in Assessment.objects.filter(site=site)
               .select_related("scenario")}
    before, after = {}, {}
    for change in (AssessmentChange.objects.filter(site=site).select_related("old_scenario",
                                                                           "new_scenario")
                   .order_by("changed_at", "id")):
        if change.changed_at < end:
            before[change.experiment_id] = change
        else:
            after.setdefault(change.experiment_id, change)
    assessments = []
    for experiment_id in sorted(current.keys() | after.keys(),
                                key=lambda e: experiments[e].position):
        experiment, first_after = experiments[experiment_id], after.get(experiment_id)
        if first_after is None:
            now = current[experiment_id]
            assessments.append(PastAssessment(
                experiment, now.scenario, now.reason, stale, now.pilot_credentials,
                now.payload_credentials, now.allows_production, now.allows_user_jobs))
        elif first_after.event != AssessmentChange.Event.STARTED:
            last = before.get(experiment_id)  # what the assessment became then, if recorded
            if last is None:
                assessments.append(PastAssessment(experiment, first_after.old_scenario,
                                                  NOT_RECORDED, stale))
            else:
                assessments.append(PastAssessment(
                    experiment, first_after.old_scenario, last.reason, stale,
                    last.pilot_credentials, last.payload_credentials, last.allows_production,
                    last.allows_user_jobs))
    return assessments


def _exceptions(site: Site, day: datetime.date, experiment_ids: list[int]
                ) -> list[SiteException]:
    """The site's exceptions as they stood, each with its `state` that day."""
    exceptions = exceptions_on(day, experiment_ids, site_id=site.id)
    for exception in exceptions:
        exception.state = state_on(exception, day)
    return sorted(exceptions, key=lambda e: e.granted_on, reverse=True)


def _migrations(site: Site, day: datetime.date, experiment_ids: list[int],
                steps: dict[int, MigrationStep]) -> list[tuple[Migration, SiteMigration | None]]:
    """The migrations of the experiments served then, each with the site's state then."""
    states = {}
    for migration_id, step_id, updated_on in values_on(
            SiteMigration, day, ("migration_id", "completed_step_id", "updated_on"),
            site_id=site.id).values():
        states[migration_id] = SiteMigration(site=site, migration_id=migration_id,
                                             completed_step=steps.get(step_id),
                                             updated_on=updated_on)
    migrations = (Migration.objects.filter(experiment_id__in=experiment_ids)
                  .select_related("experiment").with_derived()
                  .order_by("experiment__position", "name"))
    return [(migration, states.get(migration.id)) for migration in migrations]
