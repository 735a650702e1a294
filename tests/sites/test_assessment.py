"""The policy engine on its own: plain values in, an assessment out, no database."""

import datetime

import pytest

from sites.assessment import Condition, Grant, Outcome, Rule, assess

from ..helpers import day

# The policy engine is pure Python: no database.
pytestmark = pytest.mark.backend_independent

TODAY = datetime.date(2026, 11, 26)
RUNTIME = Condition("container_runtime", "Container runtime", "choice", "one_of",
                    "singularity, apptainer", ("none", "singularity", "apptainer"))
VERSION = Condition("container_runtime_version", "Container runtime version", "version",
                    "at_least", "3.7")
ISOLATED, WAIVED, PUSH = (Outcome(n, "pilot", "payload", True, True, rank=rank)
                          for n, rank in ((1, 0), (2, 2), (3, 3)))
RULES = [
    Rule(id=20, position=2, summary="anything else", outcome=PUSH),
    Rule(id=10, position=1, summary="recent runtime", outcome=ISOLATED,
         conditions=(RUNTIME, VERSION)),
]


def grant(id: int, granted: int, expires: int | None, revoked: int | None = None) -> Grant:
    """A grant dated in days relative to TODAY."""
    return Grant(id=id, kind_name="Transition", outcome=WAIVED, granted_on=day(granted, TODAY),
                 expires_on=day(expires, TODAY), revoked_on=day(revoked, TODAY))


def test_an_active_exception_decides_where_the_rule_is_unknown():
    result = assess({}, "grid", RULES, [grant(1, -5, 30)], TODAY)
    assert (result.outcome, result.exception_id, result.rule_id) == (WAIVED, 1, None)


def test_rules_are_tried_in_position_order_and_all_conditions_must_hold():
    result = assess({"container_runtime": "singularity", "container_runtime_version": "3.8.7"},
                    "grid", RULES, [], TODAY)
    assert (result.outcome, result.rule_id) == (ISOLATED, 10)
    assert result.reason == ("Rule 1 (recent runtime): Container runtime = singularity, "
                             "Container runtime version = 3.8.7")

    old = assess({"container_runtime": "singularity", "container_runtime_version": "3.5.3"},
                 "grid", RULES, [], TODAY)
    assert (old.outcome, old.rule_id) == (PUSH, 20)
    assert "Container runtime version = 3.5.3" in old.reason


def test_a_rule_turning_on_an_unreported_capability_makes_the_outcome_unknown():
    # Rule 1 might apply: which rule decides is unknown, not “anything else”.
    result = assess({"container_runtime": "apptainer"}, "grid", RULES, [], TODAY)
    assert (result.outcome, result.rule_id) == (None, None)
    assert result.reason == ("Unknown: rule 1 (recent runtime) needs Container runtime version, "
                             "not reported")
    nothing = assess({}, "grid", RULES, [], TODAY)
    assert nothing.outcome is None
    assert nothing.reason.endswith("needs Container runtime, Container runtime version, "
                                   "not reported")


def test_a_known_value_that_rules_a_rule_out_decides_without_the_missing_ones():
    # No runtime: rule 1 cannot apply whatever its version would be.
    result = assess({"container_runtime": "none"}, "grid", RULES, [], TODAY)
    assert (result.outcome, result.rule_id) == (PUSH, 20)


def test_site_kind_restricts_a_rule():
    hpc_only = [Rule(id=1, position=1, summary="HPC", outcome=WAIVED, site_kind="hpc"), *RULES]
    assert assess({}, "hpc", hpc_only, [], TODAY, {"hpc": "HPC"}).reason == (
        "Rule 1 (HPC): Site kind = HPC")
    assert assess({"container_runtime": "none"}, "grid", hpc_only, [], TODAY).rule_id == 20


def test_no_rule_applying_gives_no_scenario():
    result = assess({"container_runtime": "none"}, "grid", [RULES[1]], [], TODAY)
    assert result.outcome is None
    assert result.reason.startswith("No rule applies: Container runtime = none")


def test_an_active_exception_overrides_the_rule_and_the_latest_grant_wins():
    result = assess({"container_runtime": "none"}, "grid", RULES,
                    [grant(1, -100, 10), grant(2, -5, 30)], TODAY)
    assert (result.outcome, result.exception_id, result.rule_id) == (WAIVED, 2, 20)
    assert "in place of rule 2" in result.reason


def test_an_exception_applies_through_its_last_day_and_not_after():
    assert assess({}, "grid", RULES, [grant(1, -10, 0)], TODAY).exception_id == 1
    expired = assess({}, "grid", RULES, [grant(1, -10, -1)], TODAY)
    assert (expired.exception_id, expired.lapsed_exception_id) == (None, 1)
    assert expired.reason.endswith("expired on 2026-11-25 and no longer applies")


def test_revoked_and_future_exceptions_do_not_apply():
    revoked = assess({}, "grid", RULES, [grant(1, -10, 30, revoked=-1)], TODAY)
    assert (revoked.exception_id, revoked.lapsed_exception_id) == (None, None)
    assert assess({}, "grid", RULES, [grant(1, 5, 30)], TODAY).exception_id is None


def test_an_exception_no_longer_needed_gives_way_to_a_better_rule():
    result = assess({"container_runtime": "singularity", "container_runtime_version": "3.8.7"},
                    "grid", RULES, [grant(1, -10, 30)], TODAY)
    assert (result.outcome, result.rule_id, result.exception_id) == (ISOLATED, 10, None)
    assert result.reason.endswith("the exception “Transition” is no longer needed")


@pytest.mark.parametrize(("grants", "valid_until"), [
    ([], None),  # only a change of the inputs changes it
    ([grant(1, -10, 30)], 30),  # the exception it rests on expires
    ([grant(1, -10, None)], None),
    ([grant(1, -10, 30, revoked=5)], 4),  # a revocation dated later takes effect
    ([grant(1, -10, 30), grant(2, 7, 60)], 6),  # a grant starts
    ([grant(1, -40, -10)], None),  # already lapsed: stays lapsed
])
def test_an_assessment_says_until_when_the_clock_alone_leaves_it_true(grants, valid_until):
    result = assess({"container_runtime": "none"}, "grid", RULES, grants, TODAY)
    assert result.valid_until == day(valid_until, TODAY)
