"""The policy engine: from what a site reports, its kind, an experiment's rules and the
exceptions granted to the site, the assessment of that experiment at that site.

Pure functions over plain values, no ORM: `sites.recompute` loads the inputs and stores the
results.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from experiments.capabilities import OPERATOR_LABELS, Operator, condition_holds, split_list


@dataclass(frozen=True)
class Condition:
    capability: str  # the capability's key
    capability_name: str
    kind: str
    operator: str
    value: str
    choices: tuple[str, ...] = ()

    def holds(self, reported: Mapping[str, str]) -> bool | None:
        """True or False, or None where the site has not reported the capability: unknown."""
        if self.capability not in reported:
            return None
        return condition_holds(self.kind, self.operator, self.value,
                               reported[self.capability], self.choices)

    def describe(self) -> str:
        expected = (" or ".join(split_list(self.value)) if self.operator == Operator.ONE_OF
                    else self.value)
        return f"{self.capability_name} {OPERATOR_LABELS[Operator(self.operator)]} {expected}"


@dataclass(frozen=True)
class Outcome:
    """What applies at a site: a rule's or an exception's."""

    scenario_id: int
    pilot_credentials: str
    payload_credentials: str
    allows_production: bool
    allows_user_jobs: bool
    rank: int = 0  # of the scenario's compliance class: 0 is the target, higher is worse


@dataclass(frozen=True)
class Rule:
    id: int
    position: int
    summary: str
    outcome: Outcome
    site_kind: str = ""  # blank: any kind
    conditions: tuple[Condition, ...] = ()

    def applies(self, reported: Mapping[str, str], site_kind: str) -> bool | None:
        """Whether the rule applies, or None where that turns on something not reported (no
        known value already rules it out)."""
        if self.site_kind and self.site_kind != site_kind:
            return False
        holds = [condition.holds(reported) for condition in self.conditions]
        if False in holds:
            return False
        return None if None in holds else True

    def missing(self, reported: Mapping[str, str]) -> list[str]:
        """The names of the capabilities the rule tests that the site has not reported."""
        return list(dict.fromkeys(condition.capability_name for condition in self.conditions
                                  if condition.capability not in reported))


@dataclass(frozen=True)
class Grant:
    """An exception granted to the site for this experiment, or a standing exception that
    applies to it by itself (its id is then the exception kind's)."""

    id: int
    kind_name: str
    outcome: Outcome
    granted_on: datetime.date = datetime.date.min
    expires_on: datetime.date | None = None
    revoked_on: datetime.date | None = None
    standing: bool = False

    def active_on(self, today: datetime.date) -> bool:
        return (self.granted_on <= today
                and (self.expires_on is None or today <= self.expires_on)
                and (self.revoked_on is None or today < self.revoked_on))

    def lapsed_on(self, today: datetime.date) -> bool:
        """Expired (not revoked): the site may still rely on it, and should be told."""
        return (self.expires_on is not None and self.expires_on < today
                and self.revoked_on is None)


@dataclass(frozen=True)
class Result:
    outcome: Outcome | None  # None: unknown (no rule applies, or it turns on a missing value)
    reason: str
    rule_id: int | None = None
    exception_id: int | None = None
    standing_exception_id: int | None = None
    lapsed_exception_id: int | None = None
    # The last day the result holds by the clock alone (a grant it rests on expires, one not yet
    # in force starts); None: until the inputs change.
    valid_until: datetime.date | None = None


def assess(reported: Mapping[str, str], site_kind: str, rules: Sequence[Rule],
           grants: Sequence[Grant], today: datetime.date,
           kind_names: Mapping[str, str] | None = None) -> Result:
    """Assess one experiment at one site.

    `reported` maps capability keys to the texts the site reported. The first rule (by
    position) that applies decides, unless an exception is active and the rule's outcome is
    worse than the exception's: then the most recently granted active exception decides. An
    exception that has expired no longer decides, and the reason says so. A standing
    exception (among `grants`) is how the experiment uses every site of the kind: it decides
    whatever the rules say.
    """
    result = _assess(reported, site_kind, rules, grants, today, kind_names)
    return replace(result, valid_until=_valid_until(grants, today))


def _valid_until(grants: Sequence[Grant], today: datetime.date) -> datetime.date | None:
    """The last day before the clock alone changes where a grant stands: one not yet in force
    starts, an active one expires, or its dated revocation takes effect."""
    one_day = datetime.timedelta(days=1)
    ends = []
    for grant in grants:
        if grant.granted_on > today:
            ends.append(grant.granted_on - one_day)
        elif grant.active_on(today):
            if grant.expires_on is not None:
                ends.append(grant.expires_on)
            if grant.revoked_on is not None:
                ends.append(grant.revoked_on - one_day)
    return min(ends, default=None)


def _assess(reported: Mapping[str, str], site_kind: str, rules: Sequence[Rule],
            grants: Sequence[Grant], today: datetime.date,
            kind_names: Mapping[str, str] | None) -> Result:
    rules = sorted(rules, key=lambda rule: rule.position)
    # The first rule that applies decides, unless an earlier one might have: then it is unknown
    # which rule decides until the site reports what that rule tests.
    rule = undecided = None
    for candidate in rules:
        applies = candidate.applies(reported, site_kind)
        if applies is None:
            undecided = candidate
            break
        if applies:
            rule = candidate
            break
    standing = next((g for g in grants if g.standing), None)
    if standing is not None:
        overridden = f", in place of rule {rule.position}" if rule else ""
        return Result(
            outcome=standing.outcome,
            reason=f"Standing exception “{standing.kind_name}”: Site kind = "
                   f"{(kind_names or {}).get(site_kind, site_kind)}{overridden}",
            rule_id=rule.id if rule else None,
            standing_exception_id=standing.id,
        )
    active = sorted((g for g in grants if g.active_on(today)), key=lambda g: g.granted_on)
    lapsed = sorted((g for g in grants if g.lapsed_on(today)), key=lambda g: g.expires_on)
    lapsed_note = (f"; the exception “{lapsed[-1].kind_name}” expired on "
                   f"{lapsed[-1].expires_on.isoformat()} and no longer applies" if lapsed else "")

    if active and rule is not None and rule.outcome.rank <= active[-1].outcome.rank:
        # The exception covered a shortfall the site no longer has: the rule decides.
        lapsed_note = (f"; the exception “{active[-1].kind_name}” is no longer needed"
                       + lapsed_note)
    elif active:
        grant = active[-1]
        overridden = f", in place of rule {rule.position}" if rule else ""
        until = f"until {grant.expires_on.isoformat()}" if grant.expires_on else "with no expiry"
        return Result(
            outcome=grant.outcome,
            reason=f"Exception “{grant.kind_name}” granted on {grant.granted_on.isoformat()}, "
                   f"{until}{overridden}",
            rule_id=rule.id if rule else None,
            exception_id=grant.id,
        )
    if undecided is not None:
        return Result(
            outcome=None,
            reason=f"Unknown: rule {undecided.position} ({undecided.summary}) needs "
                   + ", ".join(undecided.missing(reported)) + ", not reported" + lapsed_note,
            lapsed_exception_id=lapsed[-1].id if lapsed else None,
        )
    if rule is None:
        return Result(
            outcome=None,
            reason="No rule applies: " + _deciding_values(rules, reported, site_kind, kind_names)
                   + lapsed_note,
            lapsed_exception_id=lapsed[-1].id if lapsed else None,
        )
    earlier = [r for r in rules if r.position < rule.position]
    return Result(
        outcome=rule.outcome,
        reason=f"Rule {rule.position} ({rule.summary}): "
               + _deciding_values([*earlier, rule], reported, site_kind, kind_names)
               + lapsed_note,
        rule_id=rule.id,
        lapsed_exception_id=lapsed[-1].id if lapsed else None,
    )


def _deciding_values(rules: Sequence[Rule], reported: Mapping[str, str], site_kind: str,
                     kind_names: Mapping[str, str] | None) -> str:
    """The site's values of everything the given rules looked at, in the order they looked:
    what made the earlier rules fail and the last one hold."""
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.site_kind and "Site kind" not in seen:
            seen["Site kind"] = (kind_names or {}).get(site_kind, site_kind)
        for condition in rule.conditions:
            seen.setdefault(condition.capability_name,
                            reported.get(condition.capability, "not reported"))
    if not seen:
        return "applies to every site"
    return ", ".join(f"{name} = {value}" for name, value in seen.items())
