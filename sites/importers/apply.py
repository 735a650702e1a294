"""The difference between a source's records and the database, as plain data, and applying it
in one transaction: the same for every source.

Sites are matched by name, experiment names by (experiment, name). An import is an update,
never a reload, and deletes nothing silently: a site missing from a complete source is listed
as gone and kept until a WG member retires it; an experiment name is removed only from a site
the source still lists, and the output says so.

Everything is saved one object at a time through the ORM, so that the history records each
change; the sites changed are recomputed once, at the end.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction

from experiments.models import Experiment
from sites.models import ExperimentSite, Federation, Site
from sites.recompute import recompute_sites, recomputing_once

from . import SiteRecord, Source, SourceError

# What can happen to an experiment name, in the order the output lists them.
ADDED, MOVED, RENAMED, RETIERED, REMOVED = (
    "added", "moved", "renamed", "tier changed", "removed")
NAME_ACTIONS = (ADDED, MOVED, RENAMED, RETIERED, REMOVED)
FEDERATIONS = "federations"  # not a Site field: a many-to-many relation, set apart


@dataclass
class FieldChange:
    field: str
    old: object
    new: object


@dataclass
class SiteChange:
    name: str
    changes: list[FieldChange]


@dataclass
class NameChange:
    action: str  # one of NAME_ACTIONS
    experiment: str  # the experiment's slug
    name: str  # its name now; the name it had when removed
    site: str  # the site it belongs to now; the site it left when removed
    tier: int | None
    old_name: str = ""  # when renamed
    old_site: str = ""  # when moved
    old_tier: int | None = None  # when moved, renamed or given a new tier


@dataclass
class Diff:
    source: Source
    added: list[SiteRecord] = field(default_factory=list)
    changed: list[SiteChange] = field(default_factory=list)
    unchanged: int = 0
    gone: list[str] = field(default_factory=list)  # missing from a complete source, kept
    back: list[tuple[str, datetime.date]] = field(default_factory=list)  # retired, listed again
    names: list[NameChange] = field(default_factory=list)


def import_records(records: list[SiteRecord], source: Source, *, dry_run: bool = False
                   ) -> Diff:
    """The difference between the records and the database, applied unless a dry run. One
    transaction: the diff is applied to the database it was computed from, and a record
    refused halfway leaves nothing changed."""
    with transaction.atomic():
        diff = compute_diff(records, source)
        if not dry_run:
            apply_diff(diff)
    return diff


# Computing the difference (reads only)

def compute_diff(records: list[SiteRecord], source: Source) -> Diff:
    _check(records, source)
    sites = {site.name: site for site in Site.objects.prefetch_related("federations")}
    diff = Diff(source=source)
    for record in records:
        site = sites.get(record.name)
        if site is None:
            diff.added.append(record)
            continue
        changes = _field_changes(site, record, source)
        if changes:
            diff.changed.append(SiteChange(record.name, changes))
        else:
            diff.unchanged += 1
        if site.retired_on is not None:
            diff.back.append((site.name, site.retired_on))
    if source.complete:
        listed = {record.name for record in records}
        diff.gone = sorted(name for name, site in sites.items()
                           if name not in listed and site.retired_on is None)
    if source.names:
        diff.names = _name_changes(records)
    return diff


def _check(records: list[SiteRecord], source: Source) -> None:
    """Refuse what the database cannot take, naming the record: a site listed twice, a name
    given to two sites, an experiment the WG does not know."""
    seen: set[str] = set()
    owner: dict[tuple[str, str], str] = {}  # (experiment, name) -> the site given it
    slugs = set(Experiment.objects.values_list("slug", flat=True))
    for record in records:
        label = f'{source.label} record "{record.name}"'
        if record.name in seen:
            raise SourceError(f"{label} appears twice")
        seen.add(record.name)
        if not source.names:
            continue
        for name in record.names:
            if name.experiment not in slugs:
                raise SourceError(f'{label}: unknown experiment "{name.experiment}"')
            key = (name.experiment, name.name)
            if key in owner:
                raise SourceError(f'{label}: {name.experiment} name "{name.name}" is also '
                                  f'given to "{owner[key]}"')
            owner[key] = record.name


def _field_changes(site: Site, record: SiteRecord, source: Source) -> list[FieldChange]:
    changes = [FieldChange(name, getattr(site, name), getattr(record, name))
               for name in source.fields if getattr(site, name) != getattr(record, name)]
    if source.federations:
        old = tuple(sorted(federation.name for federation in site.federations.all()))
        new = tuple(sorted(record.federations))
        if old != new:
            changes.append(FieldChange(FEDERATIONS, old, new))
    return changes


def _name_changes(records: list[SiteRecord]) -> list[NameChange]:
    wanted = {(name.experiment, name.name): (record.name, name.tier)
              for record in records for name in record.names}
    existing = {(row.experiment.slug, row.name): row
                for row in ExperimentSite.objects.select_related("site", "experiment")}
    listed = {record.name for record in records}
    changes = []
    new: dict[tuple[str, str], list[str]] = defaultdict(list)  # (site, experiment) -> names
    for (slug, name), (site, tier) in wanted.items():
        row = existing.get((slug, name))
        if row is None:
            new[site, slug].append(name)
        elif row.site.name != site:
            changes.append(NameChange(MOVED, slug, name, site, tier, old_site=row.site.name,
                                      old_tier=row.tier))
        elif row.tier != tier:
            changes.append(NameChange(RETIERED, slug, name, site, tier, old_tier=row.tier))
    # Names of a site the source lists that it no longer gives; a site missing from the source
    # keeps its names, as it keeps everything else.
    lost: dict[tuple[str, str], list[ExperimentSite]] = defaultdict(list)
    for key, row in existing.items():
        if key not in wanted and row.site.name in listed:
            lost[row.site.name, row.experiment.slug].append(row)
    for (site, slug), names in new.items():
        old = lost.get((site, slug), [])
        # One name of a site replaced by one other: renamed, so that the name keeps its
        # history. Anything less clear-cut is names removed and names added.
        if len(names) == 1 and len(old) == 1:
            row = lost.pop((site, slug))[0]
            changes.append(NameChange(RENAMED, slug, names[0], site, wanted[slug, names[0]][1],
                                      old_name=row.name, old_tier=row.tier))
            continue
        changes += [NameChange(ADDED, slug, name, site, wanted[slug, name][1]) for name in names]
    changes += [NameChange(REMOVED, row.experiment.slug, row.name, row.site.name, row.tier)
                for rows in lost.values() for row in rows]
    changes.sort(key=lambda change: (NAME_ACTIONS.index(change.action), change.site,
                                     change.experiment, change.name))
    return changes


# Applying it

@transaction.atomic
@recomputing_once()
def apply_diff(diff: Diff) -> None:
    reason = f"Import from {diff.source.label}"  # shown with each change in the history
    for record in diff.added:
        _add_site(record, diff.source, reason)
    sites = Site.objects.in_bulk([change.name for change in diff.changed], field_name="name")
    for change in diff.changed:
        _change_site(sites[change.name], change.changes, diff.source, reason)
    left = _apply_names(diff.names, diff.source, reason)
    # The signals note the site a name is saved with; the site a name moved away from may no
    # longer serve that experiment. All are recomputed once, at the end.
    recompute_sites(left)


def _add_site(record: SiteRecord, source: Source, reason: str) -> None:
    site = Site(name=record.name, **{name: getattr(record, name) for name in source.fields})
    _save(site, record.name, source, reason)
    if source.federations:
        site.federations.set(_federations(record.federations))


def _change_site(site: Site, changes: list[FieldChange], source: Source, reason: str) -> None:
    fields = [change for change in changes if change.field != FEDERATIONS]
    for change in fields:
        setattr(site, change.field, change.new)
    if fields:
        _save(site, site.name, source, reason)
    for change in changes:
        if change.field == FEDERATIONS:
            site.federations.set(_federations(change.new))


def _federations(names: tuple[str, ...]) -> list[Federation]:
    return [Federation.objects.get_or_create(name=name)[0] for name in names]


def _apply_names(changes: list[NameChange], source: Source, reason: str) -> set[int]:
    """Apply the name changes; the ids of the sites names moved away from."""
    experiments = {experiment.slug: experiment for experiment in Experiment.objects.all()}
    sites = Site.objects.in_bulk({change.site for change in changes}, field_name="name")
    existing = {(row.experiment.slug, row.name): row
                for row in ExperimentSite.objects.select_related("experiment")}
    left = set()
    for change in changes:
        if change.action == ADDED:
            row = ExperimentSite(site=sites[change.site], name=change.name, tier=change.tier,
                                 experiment=experiments[change.experiment])
        elif change.action == REMOVED:
            row = existing[change.experiment, change.name]
            row._change_reason = reason
            row.delete()
            continue
        elif change.action == RENAMED:
            row = existing[change.experiment, change.old_name]
            row.name = change.name
        else:  # MOVED or RETIERED
            row = existing[change.experiment, change.name]
            if change.action == MOVED:
                left.add(row.site_id)
                row.site = sites[change.site]
        row.tier = change.tier
        _save(row, change.site, source, reason)
    return left


def _save(instance: models.Model, record: str, source: Source, reason: str) -> None:
    """Validate as the admin would, so that a value the database cannot hold (a country code
    of three letters, say) is refused naming its record, and save with the history's reason."""
    try:
        instance.full_clean()
    except ValidationError as error:
        problems = "; ".join(f"{name}: {' '.join(messages)}"
                             for name, messages in error.message_dict.items())
        raise SourceError(f'{source.label} record "{record}": {problems}') from error
    instance._change_reason = reason
    instance.save()


# Telling what it did

def describe(diff: Diff) -> list[str]:
    """The diff, one change a line: sites added, fields changed old → new, names added,
    moved, renamed, given a new tier or removed, sites gone."""
    label = diff.source.label
    lines = [f"Added site {record.name}: " + ", ".join(
        f"{name} {_shown(getattr(record, name))}" for name in _given(diff.source))
        for record in diff.added]
    lines += [f"Changed site {change.name}: " + "; ".join(
        f"{item.field} {_shown(item.old)} → {_shown(item.new)}" for item in change.changes)
        for change in diff.changed]
    lines += [_name_line(change, label) for change in diff.names]
    lines += [f"Gone from {label}: {name} (kept until a WG member retires it)"
              for name in diff.gone]
    lines += [f"Back in {label}: {name}, retired on {day} (left retired: a WG member decides)"
              for name, day in diff.back]
    return lines


def summary(diff: Diff, *, dry_run: bool) -> str:
    head = (f"Dry run of the {diff.source.label} import, nothing changed" if dry_run
            else f"Imported from {diff.source.label}")
    text = (f"{head}: sites {len(diff.added)} added, {len(diff.changed)} changed, "
            f"{diff.unchanged} unchanged")
    if diff.source.complete:
        text += f", {len(diff.gone)} gone (kept)"
    if diff.source.names:
        counts = Counter(change.action for change in diff.names)
        text += "; experiment names " + ", ".join(
            f"{counts[action]} {action}" for action in NAME_ACTIONS)
    return text + "."


def _given(source: Source) -> list[str]:
    return [*source.fields, *([FEDERATIONS] if source.federations else [])]


def _name_line(change: NameChange, label: str) -> str:
    what = f"{change.experiment} name {change.name}"
    tier = (f", tier {_shown(change.old_tier)} → {_shown(change.tier)}"
            if change.old_tier != change.tier else "")
    if change.action == ADDED:
        return f"Added {what} at {change.site} (tier {_shown(change.tier)})"
    if change.action == MOVED:
        return f"Moved {what} from {change.old_site} to {change.site}{tier}"
    if change.action == RENAMED:
        return (f"Renamed {change.experiment} name {change.old_name} → {change.name} "
                f"at {change.site}{tier}")
    if change.action == RETIERED:
        return f"Changed {what} at {change.site}{tier}"
    return f"Removed {what} from {change.site}: gone from {label}"


def _shown(value) -> str:
    if value is None or value == "" or value == ():
        return "(none)"
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)
