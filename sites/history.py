"""A site's change history, read from django-simple-history's records: who changed what, when,
from which value to which."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .models import CapabilityValue, ExperimentSite, Site, SiteException, SiteMigration

CREATED, CHANGED, DELETED = "+", "~", "-"


@dataclass
class Change:
    when: datetime.datetime
    who: str
    subject: str  # e.g. "Container runtime", "CMS exception"
    old: str
    new: str
    action: str  # CREATED, CHANGED or DELETED


# For each history: how it names the site, what it loads with it, the record's subject and
# the value shown for it.
TRACKED = [
    (Site, "id", [], lambda r: "Site", lambda r: f"{r.get_kind_display()}, tier {r.tier}"),
    (CapabilityValue, "site_id", ["capability"], lambda r: r.capability.name,
     lambda r: r.value),
    (ExperimentSite, "site_id", ["experiment"], lambda r: f"{r.experiment.name} name",
     lambda r: r.name),
    (SiteException, "site_id", ["experiment", "kind"],
     lambda r: f"{r.experiment.name} exception",
     lambda r: f"{r.kind.name} until {r.expires_on or 'no expiry'}"
               + (f", revoked on {r.revoked_on}" if r.revoked_on else "")),
    (SiteMigration, "site_id", ["migration", "completed_step"], lambda r: r.migration.name,
     lambda r: r.completed_step.name if r.completed_step else "not started"),
]


def site_history(site: Site, limit: int = 100) -> list[Change]:
    """The latest changes to the site and everything it reported, newest first."""
    changes = []
    for model, site_field, related, subject, shown in TRACKED:
        newest = (model.history.filter(**{site_field: site.pk})
                  .select_related("history_user", *related).order_by("-history_date")[:limit])
        records = reversed(list(newest))
        previous: dict[int, str] = {}
        for record in records:
            value = shown(record)
            action = {"+": CREATED, "~": CHANGED, "-": DELETED}[record.history_type]
            old = previous.get(record.id, "")
            if action == CHANGED and old == value:
                continue  # saved without a visible change
            changes.append(Change(
                when=record.history_date,
                who=_who(record),
                subject=subject(record),
                old=old if action != CREATED else "",
                new=value if action != DELETED else "",
                action=action,
            ))
            previous[record.id] = value
    changes.sort(key=lambda change: change.when, reverse=True)
    return changes[:limit]


def _who(record) -> str:
    user = record.history_user
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()
