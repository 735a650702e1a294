"""The change history, read from django-simple-history's records: who changed what, when,
from which value to which, and why where they said."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from experiments.models import PolicyRule, RuleCondition

from .models import CapabilityValue, ExperimentSite, Site, SiteException, SiteMigration

CREATED, CHANGED, DELETED = "created", "changed", "deleted"


@dataclass
class Change:
    when: datetime.datetime
    who: str
    site: str  # the site's name, or "" for the WG's reference data
    subject: str  # e.g. "Container runtime", "CMS exception"
    old: str
    new: str
    action: str  # CREATED, CHANGED or DELETED
    reason: str = ""


@dataclass
class Tracked:
    """How to read one model's history: what it loads with each record, which site a
    record belongs to, its subject and the value shown for it."""

    model: type[models.Model]
    site_field: str | None
    related: list[str]
    subject: Callable
    shown: Callable


TRACKED = [
    Tracked(Site, "id", [], lambda r: "Site",
            lambda r: f"{r.get_kind_display()}, tier {r.tier}, {r.country}"),
    Tracked(CapabilityValue, "site_id", ["capability"], lambda r: r.capability.name,
            lambda r: r.value),
    Tracked(ExperimentSite, "site_id", ["experiment"], lambda r: f"{r.experiment.name} name",
            lambda r: r.name),
    Tracked(SiteException, "site_id", ["experiment", "kind"],
            lambda r: f"{r.experiment.name} exception",
            lambda r: f"{r.kind.name} until {r.expires_on or 'no expiry'}"
                      + (f", revoked on {r.revoked_on}" if r.revoked_on else "")),
    Tracked(SiteMigration, "site_id", ["migration", "completed_step"],
            lambda r: r.migration.name,
            lambda r: r.completed_step.name if r.completed_step else "not started"),
    Tracked(PolicyRule, None, ["experiment", "scenario"],
            lambda r: f"{r.experiment.name} rule {r.position}",
            lambda r: f"{r.summary} → {r.scenario.short_name}"),
    Tracked(RuleCondition, None, ["rule__experiment", "capability"],
            lambda r: f"{r.rule.experiment.name} rule {r.rule.position} condition",
            lambda r: f"{r.capability.name} {r.get_operator_display()} {r.value}"),
]


def site_history(site: Site, limit: int = 100) -> list[Change]:
    """The latest changes to one site and everything it reported, newest first."""
    return _changes([t for t in TRACKED if t.site_field], limit, site=site)


def all_changes(limit: int = 200) -> list[Change]:
    """The latest changes WG-wide: sites, their reports and exceptions, and the policies."""
    return _changes(TRACKED, limit)


SCAN_FACTOR = 20  # records read per change shown, at most: confirmations add records


def _changes(tracked: list[Tracked], limit: int, site: Site | None = None) -> list[Change]:
    changes = []
    for entry in tracked:
        related = ["history_user", *entry.related]
        records = entry.model.history.all()
        if site is not None:
            records = records.filter(**{entry.site_field: site.pk})
        elif entry.site_field == "site_id":
            related.append("site")
        records = records.select_related(*related).order_by("-history_date", "-history_id")
        changes += _visible_changes(records[:limit * SCAN_FACTOR], entry, site)
    changes.sort(key=lambda change: change.when, reverse=True)
    return changes[:limit]


def _visible_changes(newest_first, entry: Tracked, site: Site | None) -> list[Change]:
    """Each record compared with the one before it of the same object; a record that shows
    nothing new (a confirmation) is no change."""
    changes = []
    later: dict[int, tuple] = {}  # object id -> (its next newer record, that record's value)

    def emit(record, value: str, old: str) -> None:
        changes.append(Change(
            when=record.history_date, who=_who(record), site=_site_name(record, entry, site),
            subject=_read(entry.subject, record),
            old=old if record.history_type != "+" else "",
            new=value if record.history_type != "-" else "",
            action={"+": CREATED, "~": CHANGED, "-": DELETED}[record.history_type],
            reason=record.history_change_reason or "",
        ))

    for record in newest_first:
        value = _read(entry.shown, record)
        if record.id in later:
            newer, newer_value = later[record.id]
            if newer.history_type != "~" or newer_value != value:
                emit(newer, newer_value, value)
        later[record.id] = (record, value)
    for record, value in later.values():  # the oldest record read of each object
        if record.history_type != "~":
            emit(record, value, "")
    return changes


def _site_name(record, entry: Tracked, site: Site | None) -> str:
    if site is not None:
        return site.name
    if entry.site_field == "id":
        return record.name
    if entry.site_field == "site_id":
        return _read(lambda r: r.site.name, record)
    return ""


def _read(describe: Callable, record) -> str:
    """A record's description; what it referred to may have been deleted since."""
    try:
        return describe(record)
    except ObjectDoesNotExist:
        return "(deleted)"


def _who(record) -> str:
    user = record.history_user
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()
