"""The difference between a source's records and the database, as plain data, and applying it
in one transaction: the same for every source.

Sites are matched by name, experiment names by (experiment, name). An import is an update,
never a reload, and deletes nothing silently. Each site records which sources list it
(`SiteSource`): a site missing from a source that listed it is gone from that source (since
the day of that import), and kept until a WG member retires it; a site is never gone from a
source that did not have it. Each source owns its fields: a field two sources give is taken
from the first source by `AUTHORITY` that lists the site, so that two sources do not undo
each other's values. An experiment name is removed only from a site the source still lists,
and the output says so.

A dry run applies the diff in the same transaction and rolls it back: it validates exactly
as the import does and reports the same errors. Sites are saved one at a time through the ORM,
so that the history records each change; the sites changed are recomputed once, at the end.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import models, transaction
from django.utils import timezone

from experiments.models import Experiment
from sites.cache import invalidating_once
from sites.models import ExperimentSite, Federation, Site, SiteSource
from sites.recompute import recompute_sites, recomputing_once

from . import AUTHORITY, SiteRecord, Source, SourceError, shown

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
class StateChange:
    site: str
    old: str
    new: str

    @property
    def leaving(self) -> bool:
        return self.new in SiteSource.LEAVING_STATES


@dataclass
class Diff:
    source: Source
    day: datetime.date  # the import's day: since when a site it no longer lists is gone
    added: list[SiteRecord] = field(default_factory=list)
    changed: list[SiteChange] = field(default_factory=list)
    unchanged: int = 0
    newly_listed: list[str] = field(default_factory=list)  # known sites, new to this source
    gone: list[str] = field(default_factory=list)  # no longer listed since this import
    still_gone: int = 0  # gone since an earlier import, and still
    back: list[tuple[str, datetime.date]] = field(default_factory=list)  # listed again
    retired: list[tuple[str, datetime.date]] = field(default_factory=list)  # listed, retired
    states: list[StateChange] = field(default_factory=list)
    names: list[NameChange] = field(default_factory=list)
    listed_before: int = 0  # sites this source listed before the import
    reference_loaded: bool = False  # the database had no experiments: the WG's were loaded


def import_records(records: list[SiteRecord], source: Source, *, dry_run: bool = False,
                   allow_gone: bool = False) -> Diff:
    """The difference between the records and the database, applied unless a dry run. One
    transaction: the diff is applied to the database it was computed from, a record refused
    halfway leaves nothing changed, and a dry run is rolled back after the same validation.
    A diff that makes more than IMPORT_MAX_GONE_SHARE of the source's sites gone is refused,
    unless `allow_gone`: a truncated file is far likelier than a grid that lost them."""
    # The cached pages are invalidated once, after the transaction: not at each row saved.
    with invalidating_once(), transaction.atomic():
        reference_loaded = _load_reference_data_if_missing()
        diff = compute_diff(records, source)
        diff.reference_loaded = reference_loaded
        if not allow_gone:
            _check_gone_share(diff)
        apply_diff(diff)
        if dry_run:
            transaction.set_rollback(True)
    return diff


def _load_reference_data_if_missing() -> bool:
    """A fresh database knows no experiment, so no experiment name could be imported: load
    the WG's reference data (the experiments, their policies), as `load_demo` does."""
    if Experiment.objects.exists():
        return False
    call_command("loaddata", "reference", verbosity=0)
    return True


# Computing the difference (reads only)

def compute_diff(records: list[SiteRecord], source: Source) -> Diff:
    _check(records, source)
    sites = {site.name: site for site in Site.objects.prefetch_related("federations", "sources")}
    diff = Diff(source=source, day=timezone.localdate())
    for record in records:
        site = sites.get(record.name)
        listing = _listing(site, source) if site else None
        old_state = listing.state if listing else ""
        if record.state != old_state:
            diff.states.append(StateChange(record.name, old_state, record.state))
        if site is None:
            diff.added.append(record)
            continue
        if listing is None:
            diff.newly_listed.append(site.name)
        elif listing.gone_since is not None:
            diff.back.append((site.name, listing.gone_since))
        changes = _field_changes(site, record, source)
        if changes:
            diff.changed.append(SiteChange(record.name, changes))
        else:
            diff.unchanged += 1
        if site.retired_on is not None:
            diff.retired.append((site.name, site.retired_on))
    listed = {record.name for record in records}
    for name, site in sites.items():
        listing = _listing(site, source)
        if listing is None:
            continue
        diff.listed_before += listing.gone_since is None
        if name not in listed:
            if listing.gone_since is None:
                diff.gone.append(name)
            else:
                diff.still_gone += 1
    diff.gone.sort()
    if source.names:
        diff.names = _name_changes(records)
    return diff


def _listing(site: Site, source: Source) -> SiteSource | None:
    return next((row for row in site.sources.all() if row.source == source.label), None)


def _owned_fields(site: Site, source: Source) -> tuple[str, ...]:
    """The fields the source gives for this site: all it gives, unless a source with more
    authority lists the site."""
    rank = AUTHORITY.index(source.label)
    if any(AUTHORITY.index(row.source) < rank for row in site.sources.all()
           if row.gone_since is None and row.source in AUTHORITY):
        return ()
    return source.fields


def _check_gone_share(diff: Diff) -> None:
    limit = settings.IMPORT_MAX_GONE_SHARE
    if diff.gone and len(diff.gone) > limit * diff.listed_before:
        label = diff.source.label
        raise SourceError(
            f"Refused: this {label} data would make {len(diff.gone)} of the "
            f"{diff.listed_before} sites {label} lists gone, more than the "
            f"{limit:.0%} an import may (IMPORT_MAX_GONE_SHARE). A cut-off file is the likelier "
            f"cause; if {label} really no longer lists them, import with --allow-gone.")


def _check(records: list[SiteRecord], source: Source) -> None:
    """Refuse what the database cannot take, naming the record: a site listed twice, a name
    given to two sites, an experiment the WG does not know."""
    seen: set[str] = set()
    owner: dict[tuple[str, str], str] = {}  # (experiment, name) -> the site given it
    slugs = set(Experiment.objects.values_list("slug", flat=True))
    for record in records:
        label = f"{source.label} record {shown(record.name)}"
        if record.name in seen:
            raise SourceError(f"{label} appears twice")
        seen.add(record.name)
        if not source.names:
            continue
        for name in record.names:
            if name.experiment not in slugs:
                raise SourceError(f"{label}: unknown experiment {shown(name.experiment)}")
            key = (name.experiment, name.name)
            if key in owner:
                raise SourceError(f"{label}: {name.experiment} name {shown(name.name)} is "
                                  f"also given to {shown(owner[key])}")
            owner[key] = record.name


def _field_changes(site: Site, record: SiteRecord, source: Source) -> list[FieldChange]:
    changes = [FieldChange(name, getattr(site, name), getattr(record, name))
               for name in _owned_fields(site, source)
               if getattr(site, name) != getattr(record, name)]
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
    federations = _federations(diff)
    for record in diff.added:
        _add_site(record, diff.source, reason, federations)
    sites = Site.objects.in_bulk([change.name for change in diff.changed], field_name="name")
    for change in diff.changed:
        _change_site(sites[change.name], change.changes, diff.source, reason, federations)
    left = _apply_names(diff.names, diff.source, reason)
    _record_listings(diff)
    # The signals note the site a name is saved with; the site a name moved away from may no
    # longer serve that experiment. All are recomputed once, at the end.
    recompute_sites(left)


def _record_listings(diff: Diff) -> None:
    """Which sites the source lists now: new listings, sites gone from it since today or back
    in it, and the state it gives each."""
    label = diff.source.label
    site_ids = dict(Site.objects.values_list("name", "id"))
    states = {change.site: change.new for change in diff.states}
    SiteSource.objects.bulk_create(
        SiteSource(site_id=site_ids[name], source=label, listed_since=diff.day,
                   state=states.get(name, ""))
        for name in [*(record.name for record in diff.added), *diff.newly_listed])
    gone_since = {site_ids[name]: diff.day for name in diff.gone}
    gone_since |= {site_ids[name]: None for name, _since in diff.back}
    states = {site_ids[name]: state for name, state in states.items()}
    changed = []
    for listing in SiteSource.objects.filter(source=label, site_id__in={*gone_since, *states}):
        listing.gone_since = gone_since.get(listing.site_id, listing.gone_since)
        listing.state = states.get(listing.site_id, listing.state)
        changed.append(listing)
    SiteSource.objects.bulk_update(changed, ["gone_since", "state"], batch_size=500)


def _add_site(record: SiteRecord, source: Source, reason: str,
              federations: dict[str, Federation]) -> None:
    site = Site(name=record.name, **{name: getattr(record, name) for name in source.fields})
    _save(site, f"{source.label} record {shown(record.name)}", reason)
    if source.federations and record.federations:
        site.federations.add(*(federations[name] for name in record.federations))


def _change_site(site: Site, changes: list[FieldChange], source: Source, reason: str,
                 federations: dict[str, Federation]) -> None:
    fields = [change for change in changes if change.field != FEDERATIONS]
    for change in fields:
        setattr(site, change.field, change.new)
    if fields:
        _save(site, f"{source.label} record {shown(site.name)}", reason)
    for change in changes:
        if change.field == FEDERATIONS:
            site.federations.set([federations[name] for name in change.new])


def _federations(diff: Diff) -> dict[str, Federation]:
    """Every federation by name, those the diff names first created, in one query each way."""
    named = {name for record in diff.added for name in record.federations}
    named |= {name for change in diff.changed for item in change.changes
              if item.field == FEDERATIONS for name in item.new}
    known = {federation.name: federation for federation in Federation.objects.all()}
    new = [Federation(name=name) for name in sorted(named - set(known))]
    for federation in new:
        _validate(federation, f"{diff.source.label} federation {shown(federation.name)}")
    Federation.objects.bulk_create(new)
    return {federation.name: federation for federation in Federation.objects.all()}


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
        _save(row, f"{source.label} record {shown(change.site)}, {change.experiment} name "
                   f"{shown(change.name)}", reason)
    return left


def _save(instance: models.Model, where: str, reason: str) -> None:
    """Validate, and save with the history's reason."""
    _validate(instance, where)
    instance._change_reason = reason
    instance.save()


def _validate(instance: models.Model, where: str) -> None:
    """Validate as the admin would, so that a value the database cannot hold (a country code
    of three letters, say) is refused naming its record (`where`)."""
    try:
        # Uniqueness is the diff's own: sites are matched by name and experiment names by
        # (experiment, name), and _check refuses a file that repeats either; and the rows a
        # row points to were read from the database. Checking either again would cost a
        # query per row.
        instance.full_clean(exclude=[field.name for field in instance._meta.fields
                                     if field.is_relation],
                            validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        problems = "; ".join(f"{name}: {' '.join(messages)}"
                             for name, messages in error.message_dict.items())
        raise SourceError(f"{where}: {problems}") from error


# Telling what it did

def describe(diff: Diff) -> list[str]:
    """The diff, one change a line: sites added, fields changed old → new, sites the source
    lists anew, names added, moved, renamed, given a new tier or removed, states changed,
    sites newly gone, back again, or listed though retired."""
    label = diff.source.label
    lines = ["Loaded the WG's reference data (experiments, policies): this database had none"
             ] if diff.reference_loaded else []
    lines += [f"Added site {record.name}: " + ", ".join(
        f"{name} {_shown(getattr(record, name))}" for name in _given(diff.source))
        for record in diff.added]
    lines += [f"Changed site {change.name}: " + "; ".join(
        f"{item.field} {_shown(item.old)} → {_shown(item.new)}" for item in change.changes)
        for change in diff.changed]
    lines += [f"Now also in {label}: {name}" for name in diff.newly_listed]
    lines += [_name_line(change, label) for change in diff.names]
    # A new site's state goes without saying, unless it is leaving already.
    added = {record.name for record in diff.added}
    lines += [f"{label} state of {change.site}: {_shown(change.old)} → {_shown(change.new)}"
              + (" (proposed for retirement: a WG member decides)" if change.leaving else "")
              for change in diff.states if change.leaving or change.site not in added]
    lines += [f"Gone from {label}: {name} (kept until a WG member retires it)"
              for name in diff.gone]
    lines += [f"Back in {label}: {name}, gone since {day}" for name, day in diff.back]
    lines += [f"Listed by {label}: {name}, retired on {day} (left retired: a WG member "
              "decides)" for name, day in diff.retired]
    return lines


def summary(diff: Diff, *, dry_run: bool) -> str:
    head = (f"Dry run of the {diff.source.label} import, nothing changed" if dry_run
            else f"Imported from {diff.source.label}")
    text = (f"{head}: sites {len(diff.added)} added, {len(diff.changed)} changed, "
            f"{diff.unchanged} unchanged, {len(diff.gone)} newly gone (kept), "
            f"{len(diff.back)} back, {diff.still_gone} still gone")
    leaving = sum(change.leaving for change in diff.states)
    if leaving:
        text += f", {leaving} proposed for retirement ({diff.source.label} state)"
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
