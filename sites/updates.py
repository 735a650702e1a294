"""Recording what a site reports: one place for the form, the API and the probe, so that each
gets the same validation, history and recomputation.

Every save is also a confirmation: the reporter vouches for all the values it sends, so their
date moves on even where they did not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone

from experiments.models import CapabilityDefinition

from .models import CapabilityValue, Site
from .recompute import recompute_sites, recomputing_once

VALUES_TOKEN_SALT = "wlcgstatus.capabilities"


@dataclass
class Meanwhile:
    """A value someone else changed since the form was opened."""

    capability: str
    was: str
    now: str
    by: str


def current_values(site: Site) -> dict[str, str]:
    return dict(CapabilityValue.objects.filter(site=site)
                .values_list("capability__key", "value"))


def values_token(site: Site) -> str:
    """A signed token of the site's values as they are now, carried by the form so that a
    save can tell whether someone else saved since the form was opened."""
    state = {key: [value, reported_at.isoformat()] for key, value, reported_at in
             CapabilityValue.objects.filter(site=site)
             .values_list("capability__key", "value", "reported_at")}
    return signing.dumps(state, salt=VALUES_TOKEN_SALT)


def changes_since(site: Site, token: str) -> list[Meanwhile] | None:
    """What was saved since the token was made: None if nothing, else the changed values. A
    token that does not verify counts as stale, so the user sees the current values."""
    try:
        then = signing.loads(token, salt=VALUES_TOKEN_SALT)
    except signing.BadSignature:
        then = None
    now = {value.capability.key: value for value in
           CapabilityValue.objects.filter(site=site).select_related("capability",
                                                                    "reported_by")}
    if then is not None and then == {key: [v.value, v.reported_at.isoformat()]
                                     for key, v in now.items()}:
        return None
    then = then or {}
    names = dict(CapabilityDefinition.objects.values_list("key", "name"))
    changed = []
    for key in sorted(set(then) | set(now), key=lambda k: names.get(k, k)):
        was = then.get(key, ["not reported"])[0]
        current = now.get(key)
        if current is None or current.value != was or key not in then:
            changed.append(Meanwhile(
                capability=names.get(key, key), was=was,
                now=current.value if current else "not reported",
                by=_reporter(current) if current else "someone",
            ))
        elif current.reported_at.isoformat() != then[key][1]:
            changed.append(Meanwhile(names.get(key, key), was, f"{current.value} (confirmed)",
                                     _reporter(current)))
    return changed


def record_capabilities(site: Site, values: dict[str, str], user=None,
                        source: str = CapabilityValue.Source.FORM) -> list[str]:
    """Store the reported values (key → text; an empty text withdraws a value) and return the
    keys whose value changed. The caller has validated the values."""
    definitions = {d.key: d for d in CapabilityDefinition.objects.filter(key__in=values)}
    existing = {v.capability.key: v for v in
                CapabilityValue.objects.filter(site=site).select_related("capability")}
    now = timezone.now()
    changed, kept, added = [], [], []
    with transaction.atomic(savepoint=False), recomputing_once():
        for key, raw in values.items():
            value = raw.strip()
            current = existing.get(key)
            if not value:
                if current:
                    current.delete()
                    changed.append(key)
                continue
            if current is None:
                current = CapabilityValue(site=site, capability=definitions[key])
                added.append(current)
            else:
                kept.append(current)
            if current.value != value:
                changed.append(key)
            current.value, current.reported_by, current.source = value, user, source
            current.reported_at = now
        # Every value in a statement or two, and their history in one more, rather than two
        # statements a value: what a save costs no longer grows with the values sent.
        CapabilityValue.objects.bulk_update(kept, ["value", "reported_by", "source",
                                                   "reported_at"])
        CapabilityValue.objects.bulk_create(added)
        for saved, update in ((kept, True), (added, False)):  # records of "~" and of "+"
            if saved:
                CapabilityValue.history.bulk_history_create(
                    saved, update=update, default_user=user, default_date=now)
        # Once, on leaving (the bulk writes send no signal; a withdrawn value's would wait
        # for the commit).
        recompute_sites([site.pk])
    return changed


def _reporter(value: CapabilityValue) -> str:
    if value.reported_by:
        return value.reported_by.get_full_name() or value.reported_by.get_username()
    return value.get_source_display().lower()
