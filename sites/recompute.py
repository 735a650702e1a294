"""Recomputing stored assessments: load the policy engine's inputs in a few queries per chunk
of sites, evaluate, and upsert the results in bulk; then the migration progress that follows
from them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import Signal
from django.utils import timezone

from experiments.models import (
    Compliance,
    ExceptionKind,
    Experiment,
    Migration,
    PolicyRule,
    SiteKind,
)
from experiments.revisions import conditions_of
from experiments.revisions import current as current_revisions

from .assessment import Condition, Grant, Outcome, Result, Rule, assess
from .cache import cached_policy
from .models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
)
from .progress import derive_progress, derived_migrations
from .timeline import end_of

CHUNK_SIZE = 2000  # sites per round trip: bounded memory, few queries
KIND_NAMES = dict(SiteKind.choices)

# Sent after stored assessments were rewritten in bulk (no model signals): pages that cache
# what they show from them listen.
assessments_recomputed = Signal()
COMPLIANCE_RANK = {compliance.value: rank for rank, compliance in enumerate(Compliance)}

STORED_FIELDS = [
    "scenario", "rule", "exception", "standing_exception", "lapsed_exception", "pilot_credentials",
    "payload_credentials", "allows_production", "allows_user_jobs", "reason", "computed_at",
    "valid_until", "revision",
]


def recompute(sites: Iterable[int] | None = None, experiments: Iterable[int] | None = None,
              today: datetime.date | None = None, by_policy: bool = False) -> int:
    """Recompute and store the assessments of the given sites (ids; default: all) for the
    given experiments (ids; default: all). Returns how many assessments were stored.
    `by_policy`: the experiments' policy changed, and the changes it makes name its revision."""
    today = today or timezone.localdate()
    experiment_ids = (list(experiments) if experiments is not None
                      else cached_policy("experiments", lambda: list(
                          Experiment.objects.values_list("id", flat=True))))
    policy = policy_of(experiment_ids)
    site_ids = (list(sites) if sites is not None
                else list(Site.objects.order_by("id").values_list("id", flat=True)))
    stored = 0
    # All stored or none; within a caller's transaction, a failure fails the caller's too, so
    # no savepoint of its own (two statements a save).
    with transaction.atomic(savepoint=False):
        for start in range(0, len(site_ids), CHUNK_SIZE):
            chunk = site_ids[start:start + CHUNK_SIZE]
            stored += _recompute_chunk(chunk, experiment_ids, policy, today, by_policy)
    assessments_recomputed.send(sender=Assessment)
    return stored


# The sites noted for recomputation inside `recomputing_once`; None outside it.
_pending: ContextVar[set[int] | None] = ContextVar("sites_to_recompute", default=None)


@contextmanager
def recomputing_once() -> Iterator[None]:
    """Within it, a change to a site's inputs only notes the site (`recompute_sites`); leaving
    it recomputes each noted site once, together: a form that saves five values, or an import
    of hundreds of sites, recomputes once instead of once per saved row. Nested, the outermost
    one recomputes. Left by an error, it recomputes nothing: the transaction is rolled back."""
    if _pending.get() is not None:
        yield
        return
    pending: set[int] = set()
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    if pending:
        recompute(sites=sorted(pending))


def recompute_sites(site_ids: Iterable[int]) -> None:
    """Recompute these sites now, or once on leaving the enclosing `recomputing_once`."""
    site_ids = set(site_ids)
    pending = _pending.get()
    if pending is not None:
        pending.update(site_ids)
    elif site_ids:  # nothing to recompute: no queries, no signal to the caches
        recompute(sites=sorted(site_ids))


@dataclass(frozen=True)
class Policy:
    """What the engine applies of some experiments' policies: their rules, their exception
    kinds' outcomes and standing exceptions (by experiment and the kind of site they apply
    to); for a recomputation also their derived migrations and current revisions."""

    rules: dict[int, list[Rule]]
    outcomes: dict[int, Outcome]
    standing: dict[tuple[int, str], list[Grant]]
    migrations: list[Migration] = field(default_factory=list)
    revisions: dict[int, int] = field(default_factory=dict)  # experiment → revision id

    def assess(self, experiment_id: int, reported: dict[str, str], site_kind: str,
               grants: list[Grant], today: datetime.date) -> Result:
        """The experiment's assessment of a site with these values, kind and grants."""
        return assess(reported, site_kind, self.rules[experiment_id],
                      [*grants, *self.standing[experiment_id, site_kind]], today, KIND_NAMES)


def policy_of(experiment_ids: list[int]) -> Policy:
    """The experiments' policy as stored. It changes only with the WG's reference data:
    cached (sites/cache.py `cached_policy`), so that one site's report does not read it all
    anew."""
    return cached_policy(f"policy:{'-'.join(map(str, sorted(experiment_ids)))}",
                         lambda: _load_policy(experiment_ids))


def _load_policy(experiment_ids: list[int]) -> Policy:
    rules = list(PolicyRule.objects.filter(experiment_id__in=experiment_ids)
                 .select_related("scenario").prefetch_related("conditions__capability"))
    kinds = list(ExceptionKind.objects.filter(experiment_id__in=experiment_ids)
                 .select_related("scenario"))
    revisions = current_revisions(list(Experiment.objects.filter(id__in=experiment_ids)),
                                  rules, kinds)
    return replace(policy_from(rules, kinds), revisions=revisions, migrations=[
        m for m in derived_migrations() if m.experiment_id in experiment_ids])


def policy_from(rules: Iterable[PolicyRule], kinds: Iterable[ExceptionKind]) -> Policy:
    """The engine's policy from these rules (each with its conditions: a draft's, else its
    stored ones) and exception kinds, saved or not: what the recomputation stores and what the
    workbench's dry run tries."""
    engine_rules: dict[int, list[Rule]] = defaultdict(list)
    for rule in rules:
        engine_rules[rule.experiment_id].append(Rule(
            id=rule.id,
            position=rule.position,
            summary=rule.summary,
            site_kind=rule.site_kind,
            outcome=_outcome(rule),
            conditions=tuple(
                Condition(capability=c.capability.key, capability_name=c.capability.name,
                          kind=c.capability.kind, operator=c.operator, value=c.value,
                          choices=tuple(c.capability.choices))
                for c in conditions_of(rule)
            ),
        ))
    outcomes, standing = {}, defaultdict(list)
    for kind in kinds:
        outcomes[kind.id] = _outcome(kind)
        if kind.standing:
            standing[kind.experiment_id, kind.applies_to].append(
                Grant(id=kind.id, kind_name=kind.name, outcome=outcomes[kind.id], standing=True))
    return Policy(engine_rules, outcomes, standing)


def _outcome(source: PolicyRule | ExceptionKind) -> Outcome:
    return Outcome(source.scenario_id, source.pilot_credentials, source.payload_credentials,
                   source.allows_production, source.allows_user_jobs,
                   COMPLIANCE_RANK[source.scenario.compliance])


def load_reported(site_ids: list[int] | None) -> dict[int, dict[str, str]]:
    """The values the sites reported (None: every site), by site and capability key."""
    values = CapabilityValue.objects.all()
    if site_ids is not None:
        values = values.filter(site_id__in=site_ids)
    reported: dict[int, dict[str, str]] = defaultdict(dict)
    for site_id, key, value in values.values_list("site_id", "capability__key", "value"):
        reported[site_id][key] = value
    return reported


def load_grants(site_ids: list[int] | None, experiment_ids: list[int],
                outcomes: dict[int, Outcome]) -> dict[tuple[int, int], list[Grant]]:
    """The exceptions granted to the sites (None: every site), by site and experiment."""
    exceptions = SiteException.objects.filter(experiment_id__in=experiment_ids)
    if site_ids is not None:
        exceptions = exceptions.filter(site_id__in=site_ids)
    grants: dict[tuple[int, int], list[Grant]] = defaultdict(list)
    for exception in exceptions.select_related("kind"):
        grants[exception.site_id, exception.experiment_id].append(Grant(
            id=exception.id, kind_name=exception.kind.name, outcome=outcomes[exception.kind_id],
            granted_on=exception.granted_on, expires_on=exception.expires_on,
            revoked_on=exception.revoked_on,
        ))
    return grants


MISSING = object()


# What a site's page shows of an assessment: a change to any of it is recorded, so that the
# page as of a past day shows it as it was.
SHOWN_FIELDS = ("scenario_id", "pilot_credentials", "payload_credentials", "allows_production",
                "allows_user_jobs", "reason")


def _shown(assessment: Assessment) -> tuple:
    return tuple(getattr(assessment, field) for field in SHOWN_FIELDS)


def _change(assessment: Assessment, before: dict, now, by_policy: bool) -> AssessmentChange:
    key = (assessment.site_id, assessment.experiment_id)
    started = key not in before
    old_scenario_id = None if started else before[key][0]
    return AssessmentChange(
        event=(AssessmentChange.Event.STARTED if started
               else AssessmentChange.Event.UPDATED if old_scenario_id == assessment.scenario_id
               else AssessmentChange.Event.CHANGED),
        site_id=assessment.site_id, experiment_id=assessment.experiment_id,
        old_scenario_id=old_scenario_id, new_scenario_id=assessment.scenario_id,
        reason=assessment.reason, pilot_credentials=assessment.pilot_credentials,
        payload_credentials=assessment.payload_credentials,
        allows_production=assessment.allows_production,
        allows_user_jobs=assessment.allows_user_jobs, changed_at=now,
        revision_id=assessment.revision_id if by_policy else None)


def preview(site: Site, reported: dict[str, str], today: datetime.date | None = None
            ) -> dict[int, Result]:
    """What each experiment the site serves would make of these capability values, per
    experiment id, without storing anything."""
    today = today or timezone.localdate()
    experiment_ids = list(ExperimentSite.objects.filter(site=site)
                          .values_list("experiment_id", flat=True).distinct())
    policy = policy_of(experiment_ids)
    grants = load_grants([site.id], experiment_ids, policy.outcomes)
    return {experiment_id: policy.assess(experiment_id, reported, site.kind,
                                         grants[site.id, experiment_id], today)
            for experiment_id in experiment_ids}


def _recompute_chunk(site_ids: list[int], experiment_ids: list[int], policy: Policy,
                     today: datetime.date, by_policy: bool) -> int:
    serving = ExperimentSite.objects.serving()
    served = set(serving.filter(site_id__in=site_ids, experiment_id__in=experiment_ids)
                 .values_list("site_id", "experiment_id"))
    kinds = dict(Site.objects.filter(id__in=site_ids).values_list("id", "kind"))
    reported = load_reported(site_ids)
    grants = load_grants(site_ids, experiment_ids, policy.outcomes)

    now = timezone.now()
    assessments = []
    for site_id, experiment_id in sorted(served):
        result = policy.assess(experiment_id, reported[site_id], kinds[site_id],
                               grants[site_id, experiment_id], today)
        outcome = result.outcome
        assessments.append(Assessment(
            site_id=site_id,
            experiment_id=experiment_id,
            scenario_id=outcome.scenario_id if outcome else None,
            rule_id=result.rule_id,
            exception_id=result.exception_id,
            standing_exception_id=result.standing_exception_id,
            lapsed_exception_id=result.lapsed_exception_id,
            pilot_credentials=outcome.pilot_credentials if outcome else "",
            payload_credentials=outcome.payload_credentials if outcome else "",
            allows_production=outcome.allows_production if outcome else False,
            allows_user_jobs=outcome.allows_user_jobs if outcome else False,
            reason=result.reason,
            computed_at=now,
            valid_until=result.valid_until,
            revision_id=policy.revisions.get(experiment_id),
        ))
    before, lapsed_at = {}, {}
    for site_id, experiment_id, valid_until, *shown in (
            Assessment.objects.filter(site_id__in=site_ids, experiment_id__in=experiment_ids)
            .values_list("site_id", "experiment_id", "valid_until", *SHOWN_FIELDS)):
        before[site_id, experiment_id] = tuple(shown)
        if valid_until is not None and end_of(valid_until) < now:
            # Overtaken by the clock: it changed when it stopped holding, not now.
            lapsed_at[site_id, experiment_id] = end_of(valid_until)
    Assessment.objects.bulk_create(
        assessments, update_conflicts=True, unique_fields=["site", "experiment"],
        update_fields=STORED_FIELDS,
    )
    changes = [_change(a, before, lapsed_at.get((a.site_id, a.experiment_id), now), by_policy)
               for a in assessments
               if before.get((a.site_id, a.experiment_id), MISSING) != _shown(a)]
    # A site that no longer serves an experiment keeps no assessment for it.
    gone = (Assessment.objects.filter(site_id__in=site_ids, experiment_id__in=experiment_ids)
            .exclude(Exists(serving.filter(site=OuterRef("site"),
                                           experiment=OuterRef("experiment")))))
    stopped = [AssessmentChange(event=AssessmentChange.Event.STOPPED, site_id=site_id,
                                experiment_id=experiment_id, old_scenario_id=scenario_id,
                                reason="No longer serves the experiment.", changed_at=now)
               for site_id, experiment_id, scenario_id in
               gone.values_list("site_id", "experiment_id", "scenario_id")]
    if stopped:  # else no statement to delete nothing
        gone.delete()
    AssessmentChange.objects.bulk_create([*changes, *stopped], batch_size=2000)
    derive_progress(site_ids, policy.migrations, reported, assessments, today)
    return len(assessments)
