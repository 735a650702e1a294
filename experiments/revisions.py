"""An experiment's policy as a revision keeps it: its plan, its rules and exception kinds with
the scenarios they lead to, as plain data (`snapshot`); recording a revision where the policy
changed (`record`, `current`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, Subquery

from .models import (
    Compliance,
    ExceptionKind,
    Experiment,
    PolicyRevision,
    PolicyRule,
    RuleCondition,
)

FIRST_REVISION = "The policy as it stood when revisions began."
CHANGED_ELSEWHERE = "Changed outside the policy workbench (in the admin or by a data load)."


def snapshot(experiment: Experiment, rules: Iterable[PolicyRule],
             kinds: Iterable[ExceptionKind]) -> dict:
    """The experiment's policy as plain data, from these rules (each with its conditions: a
    draft's in `draft_conditions`, else its stored ones) and exception kinds."""
    return {
        "plan": experiment.plan,
        "rules": [{
            "position": rule.position,
            "summary": rule.summary,
            "when": _when(rule),
            "then": _then(rule),
        } for rule in sorted(rules, key=lambda rule: rule.position)],
        "exception_kinds": [{
            "name": kind.name,
            "grant": _granted(kind),
            "then": _then(kind),
        } for kind in sorted(kinds, key=lambda kind: kind.name)],
    }


def conditions_of(rule: PolicyRule) -> list[RuleCondition]:
    """A rule's conditions: those a draft gives it, else its stored ones."""
    if hasattr(rule, "draft_conditions"):
        return rule.draft_conditions
    return list(rule.conditions.all()) if rule.pk else []


def _when(rule: PolicyRule) -> str:
    tests = [f"site kind is {rule.get_site_kind_display()}"] if rule.site_kind else []
    tests += [str(condition) for condition in conditions_of(rule)]
    return " and ".join(tests) or "any site"


def _then(outcome: PolicyRule | ExceptionKind) -> str:
    workloads = [label for allowed, label in ((outcome.allows_production, "production jobs"),
                                              (outcome.allows_user_jobs, "user jobs"))
                 if allowed] or ["no jobs"]
    return (f"{outcome.scenario.name} ({Compliance(outcome.scenario.compliance).label}); "
            f"pilot holds {outcome.pilot_credentials or '—'}; "
            f"payload holds {outcome.payload_credentials or '—'}; "
            f"{' and '.join(workloads)}")


def _granted(kind: ExceptionKind) -> str:
    if kind.standing:
        return f"standing for every {kind.get_applies_to_display()} site"
    terms = ["granted site by site"]
    if kind.requires_expiry:
        terms.append("each grant ends")
    if kind.max_months:
        terms.append(f"at most {kind.max_months} months")
    return ", ".join(terms)


def record(experiment: Experiment, policy: dict, reason: str,
           user=None) -> PolicyRevision | None:
    """A new revision of the experiment's policy (a `snapshot`), if it differs from its
    latest one."""
    with transaction.atomic():
        latest = (PolicyRevision.objects.select_for_update().filter(experiment=experiment)
                  .order_by("-number").first())
        if latest is not None and latest.policy == policy:
            return None
        return PolicyRevision.objects.create(
            experiment=experiment, number=latest.number + 1 if latest else 1, policy=policy,
            reason=reason, made_by=user)


def current(experiments: list[Experiment], rules: list[PolicyRule],
            kinds: list[ExceptionKind]) -> dict[int, int]:
    """Each experiment's latest revision (by id), given its stored rules and exception kinds:
    recorded first where its policy has no revision yet, or was changed outside the workbench
    since its latest."""
    newest = (PolicyRevision.objects.filter(experiment=OuterRef("experiment"))
              .order_by("-number").values("number")[:1])
    latest = {revision.experiment_id: revision for revision in PolicyRevision.objects.filter(
        experiment__in=experiments, number=Subquery(newest))}
    revisions = {}
    for experiment in experiments:
        policy = snapshot(experiment, [r for r in rules if r.experiment_id == experiment.id],
                          [k for k in kinds if k.experiment_id == experiment.id])
        revision = latest.get(experiment.id)
        if revision is None or revision.policy != policy:
            revision = (record(experiment, policy,
                               CHANGED_ELSEWHERE if revision else FIRST_REVISION)
                        or experiment.revisions.order_by("-number").first())  # made meanwhile
        revisions[experiment.id] = revision.id
    return revisions


def lines(policy: dict) -> list[str]:
    """A revision's policy as text, one statement a line: what its diff compares."""
    text = ["Plan:", *(f"  {line}" for line in policy["plan"].splitlines())]
    for rule in policy["rules"]:
        text += [f"Rule {rule['position']}: {rule['summary']}", f"  when {rule['when']}",
                 f"  then {rule['then']}"]
    for kind in policy["exception_kinds"]:
        text += [f"Exception kind: {kind['name']}", f"  {kind['grant']}",
                 f"  then {kind['then']}"]
    return text


def diff(older: dict | None, newer: dict) -> list[tuple[str, str]]:
    """What changed from `older` to `newer` (None: from nothing), as (mark, line): “+” added,
    “-” removed, “@” where a run of changes starts, “ ” unchanged context."""
    changed = difflib.unified_diff(lines(older) if older else [], lines(newer), lineterm="",
                                   n=2)
    return [(line[0], line[1:]) for line in list(changed)[2:]]
