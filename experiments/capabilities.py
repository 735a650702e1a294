"""Capability values: their types, how a reported text becomes a typed value, and how a rule
condition compares one. Pure Python, shared by model validation and the policy engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from packaging.version import InvalidVersion, Version

YES, NO = "yes", "no"


class CapabilityKind(StrEnum):
    YES_NO = "yes_no"
    CHOICE = "choice"
    VERSION = "version"


class Operator(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    ONE_OF = "one_of"
    AT_LEAST = "at_least"
    BELOW = "below"


OPERATOR_LABELS = {
    Operator.IS: "is",
    Operator.IS_NOT: "is not",
    Operator.ONE_OF: "is one of",
    Operator.AT_LEAST: "is at least",
    Operator.BELOW: "is below",
}

# Which comparisons make sense for which kind of value.
OPERATORS_FOR_KIND = {
    CapabilityKind.YES_NO: {Operator.IS, Operator.IS_NOT},
    CapabilityKind.CHOICE: {Operator.IS, Operator.IS_NOT, Operator.ONE_OF},
    CapabilityKind.VERSION: {Operator.IS, Operator.IS_NOT, Operator.AT_LEAST, Operator.BELOW},
}


def parse_value(kind: str, raw: str, choices: Sequence[str] = ()) -> bool | str | Version:
    """The typed value of a reported text, or ValueError with a message for the reporter."""
    text = raw.strip()
    if kind == CapabilityKind.YES_NO:
        if text.lower() not in (YES, NO):
            raise ValueError(f"“{raw}” is not yes or no.")
        return text.lower() == YES
    if kind == CapabilityKind.CHOICE:
        if text not in choices:
            raise ValueError(f"“{raw}” is not one of {', '.join(choices)}.")
        return text
    if kind == CapabilityKind.VERSION:
        try:
            return Version(text)
        except InvalidVersion:
            raise ValueError(f"“{raw}” is not a version number such as 3.7.1.") from None
    raise ValueError(f"Unknown capability kind “{kind}”.")


def split_list(raw: str) -> list[str]:
    """The items of a comma-separated condition value (used by “is one of”)."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def check_condition(kind: str, operator: str, raw: str, choices: Sequence[str] = ()) -> None:
    """Raise ValueError if a rule condition cannot be evaluated against this kind of value."""
    if operator not in OPERATORS_FOR_KIND[CapabilityKind(kind)]:
        allowed = ", ".join(OPERATOR_LABELS[op] for op in OPERATORS_FOR_KIND[CapabilityKind(kind)])
        raise ValueError(f"“{OPERATOR_LABELS[Operator(operator)]}” does not apply to this "
                         f"capability; use one of: {allowed}.")
    items = split_list(raw) if operator == Operator.ONE_OF else [raw]
    if not items:
        raise ValueError("Name at least one value.")
    for item in items:
        parse_value(kind, item, choices)


def condition_holds(kind: str, operator: str, expected: str, reported: str | None,
                    choices: Sequence[str] = ()) -> bool:
    """Whether a site's reported value satisfies a condition. Unreported or unreadable values
    satisfy nothing, so a rule never applies on the strength of missing information."""
    if reported is None:
        return False
    try:
        actual = parse_value(kind, reported, choices)
    except ValueError:
        return False
    if operator == Operator.ONE_OF:
        return actual in {parse_value(kind, item, choices) for item in split_list(expected)}
    target = parse_value(kind, expected, choices)
    match operator:
        case Operator.IS:
            return actual == target
        case Operator.IS_NOT:
            return actual != target
        case Operator.AT_LEAST:
            return actual >= target
        case Operator.BELOW:
            return actual < target
    raise ValueError(f"Unknown operator “{operator}”.")
