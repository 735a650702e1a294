"""The change history, read from django-simple-history's records: who changed what, when,
from which value to which, and why where they said."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models.signals import post_save
from django.utils.text import Truncator

from experiments.models import (
    CapabilityDefinition,
    ExceptionKind,
    Experiment,
    LHCPeriod,
    Migration,
    MigrationStep,
    PolicyRule,
    RuleCondition,
    Scenario,
)

from .cache import cached
from .models import (
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
)

CREATED, CHANGED, DELETED = "created", "changed", "deleted"
# The reason on the records a bulk load (the demo) starts the history from: not changes
# themselves, but what the first change to each row is compared with.
BASELINE = "Baseline: the data as loaded"
NOT_RECORDED = "(not recorded)"
POLICY_ENGINE = "policy"  # who changes a scenario: the engine, from what others changed


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
    experiment: str = ""  # the experiment's name, where the change is one experiment's


@dataclass
class Tracked:
    """How to read one model's history: what it loads with each record, which site a
    record belongs to, its subject and the value shown for it, and the experiment it is
    about (the field to filter on, and the experiment a record names)."""

    model: type[models.Model]
    site_field: str | None
    related: list[str]
    subject: Callable
    shown: Callable
    many_to_many: tuple[str, ...] = ()  # the related records it shows, to prefetch
    experiment_field: str | None = None  # None: about no experiment in particular
    experiment: Callable = lambda record: ""


TRACKED = [
    Tracked(Site, "id", [], lambda r: "Site",
            lambda r: ", ".join([r.get_kind_display(), f"tier {r.tier}", r.country,
                                 *sorted(f.federation.name for f in
                                         r.historicalsite_federations_set.all())]),
            # simple-history's name for the federations a site record holds
            many_to_many=("historicalsite_federations_set__federation",)),
    Tracked(CapabilityValue, "site_id", ["capability"], lambda r: r.capability.name,
            lambda r: r.value),
    Tracked(ExperimentSite, "site_id", ["experiment"], lambda r: f"{r.experiment.name} name",
            lambda r: r.name, experiment_field="experiment_id",
            experiment=lambda r: r.experiment.name),
    Tracked(SiteException, "site_id", ["experiment", "kind"],
            lambda r: f"{r.experiment.name} exception",
            lambda r: f"{r.kind.name} until {r.expires_on or 'no expiry'}"
                      + (f", revoked on {r.revoked_on}" if r.revoked_on else ""),
            experiment_field="experiment_id", experiment=lambda r: r.experiment.name),
    Tracked(SiteMigration, "site_id", ["migration__experiment", "completed_step"],
            lambda r: r.migration.name,
            lambda r: r.completed_step.name if r.completed_step else "not started",
            experiment_field="migration__experiment_id",
            experiment=lambda r: r.migration.experiment.name),
    # The WG's reference data: plans, scenarios, capabilities, exception kinds, migrations.
    Tracked(Experiment, None, [], lambda r: f"{r.name} plan",
            lambda r: Truncator(" ".join(r.plan.split())).chars(120),
            experiment_field="id", experiment=lambda r: r.name),
    Tracked(Scenario, None, [], lambda r: f"Scenario “{r.short_name}”",
            lambda r: f"{r.name} ({r.get_compliance_display()}); pilot: {r.pilot_credentials}; "
                      f"payload: {r.payload_credentials}"),
    Tracked(CapabilityDefinition, None, [], lambda r: f"Capability “{r.name}”",
            lambda r: f"{r.get_kind_display()}"
                      + (f": {', '.join(r.choices)}" if r.choices else "")),
    Tracked(ExceptionKind, None, ["experiment", "scenario"],
            lambda r: f"{r.experiment.name} exception kind “{r.name}”",
            lambda r: f"{r.scenario.short_name}"
                      + (f", standing for {r.get_applies_to_display()} sites" if r.applies_to
                         else ", must expire" if r.requires_expiry else ", no expiry needed")
                      + (f", at most {r.max_months} months" if r.max_months else ""),
            experiment_field="experiment_id", experiment=lambda r: r.experiment.name),
    Tracked(Migration, None, ["experiment"], lambda r: f"{r.experiment.name} migration",
            lambda r: r.name, experiment_field="experiment_id",
            experiment=lambda r: r.experiment.name),
    Tracked(LHCPeriod, None, [], lambda r: f"LHC period {r.name}",
            lambda r: f"{r.starts_on} to {r.ends_on}"),
    Tracked(MigrationStep, None, ["migration__experiment", "target_period"],
            lambda r: f"{r.migration.name} step {r.position}",
            lambda r: f"{r.name}, target "
                      f"{r.target_period.name if r.target_period else r.target_date or 'none'}",
            experiment_field="migration__experiment_id",
            experiment=lambda r: r.migration.experiment.name),
    Tracked(PolicyRule, None, ["experiment", "scenario"],
            lambda r: f"{r.experiment.name} rule {r.position}",
            lambda r: f"{r.summary} → {r.scenario.short_name}",
            experiment_field="experiment_id", experiment=lambda r: r.experiment.name),
    Tracked(RuleCondition, None, ["rule__experiment", "capability"],
            lambda r: f"{r.rule.experiment.name} rule {r.rule.position} condition",
            lambda r: f"{r.capability.name} {r.get_operator_display()} {r.value}",
            experiment_field="rule__experiment_id",
            experiment=lambda r: r.rule.experiment.name),
]


def record_loaded(sender, instance, raw: bool = False, **kwargs) -> None:
    """A row a fixture loads (a raw save, which simple-history does not record) gets a
    baseline record: the first change to it is then shown against what was loaded."""
    if raw:
        sender.history.bulk_history_create([instance], default_change_reason=BASELINE)
        # The fixture's many-to-many values (a site's federations) are set after the save and
        # recorded anew: that record is part of the baseline too.
        instance._change_reason = BASELINE


def connect() -> None:
    for entry in TRACKED:
        post_save.connect(record_loaded, sender=entry.model,
                          dispatch_uid=f"history-baseline-{entry.model._meta.label}")


def site_history(site: Site, limit: int = 100) -> list[Change]:
    """The latest changes to one site and everything it reported, newest first, with what
    they did to its scenarios."""
    return _changes([t for t in TRACKED if t.site_field], limit, site=site)


def all_changes(limit: int = 200, since: datetime.datetime | None = None,
                until: datetime.datetime | None = None,
                experiment: Experiment | None = None) -> list[Change]:
    """The latest changes WG-wide (made from `since` and before `until`, when given): sites,
    their reports, exceptions and scenarios, and the WG's reference data and policies. For an
    experiment: what is about it alone (its names, exceptions, migrations, plan, policy and
    the scenarios of its sites)."""
    tracked = [t for t in TRACKED if experiment is None or t.experiment_field]
    changes = _changes(tracked, limit, until=until, experiment=experiment)
    return [change for change in changes if since is None or change.when >= since]


SCAN_FACTOR = 20  # records read per change shown, at most: confirmations add records


def _changes(tracked: list[Tracked], limit: int, site: Site | None = None,
             until: datetime.datetime | None = None,
             experiment: Experiment | None = None) -> list[Change]:
    changes = _scenario_changes(limit, site, until, experiment)
    of_sites = [entry for entry in tracked if entry.site_field]
    changes += _records(of_sites, limit, site, until, experiment)
    # The WG's reference data changes only when the WG edits it: its history (nine tables)
    # is cached as the overview's figures are, under the version every write moves on.
    reference = [entry for entry in tracked if not entry.site_field]
    if reference:
        changes += cached(
            f"reference-changes:{limit}:{until.timestamp() if until else ''}:"
            f"{experiment.pk if experiment else ''}",
            lambda: _records(reference, limit, site, until, experiment))
    changes.sort(key=lambda change: change.when, reverse=True)
    return changes[:limit]


def _records(tracked: list[Tracked], limit: int, site: Site | None,
             until: datetime.datetime | None, experiment: Experiment | None) -> list[Change]:
    """The changes the history of these models records."""
    changes = []
    for entry in tracked:
        related = ["history_user", *entry.related]
        # Records before a period's start are read too: each change shows what it changed from.
        records = (entry.model.history.filter(history_date__lt=until) if until
                   else entry.model.history.all())
        if site is not None:
            records = records.filter(**{entry.site_field: site.pk})
        elif entry.site_field == "site_id":
            related.append("site")
        if experiment is not None:
            records = records.filter(**{entry.experiment_field: experiment.pk})
        records = (records.select_related(*related).prefetch_related(*entry.many_to_many)
                   .order_by("-history_date", "-history_id"))
        changes += _visible_changes(records[:limit * SCAN_FACTOR], entry, site)
    return changes


def _scenario_changes(limit: int, site: Site | None, until: datetime.datetime | None,
                      experiment: Experiment | None) -> list[Change]:
    """What the policy engine concluded from the changes: a site's scenario for an
    experiment, with the engine's reason; by the revision of the policy whose saving made
    it, where it was a change of policy rather than of the site."""
    # Not the other changes to an assessment: each follows from a change listed itself (an
    # exception renewed, a rule's workloads changed).
    records = (AssessmentChange.objects.exclude(event=AssessmentChange.Event.UPDATED)
               .select_related("site", "experiment", "old_scenario", "new_scenario",
                               "revision"))
    if until:
        records = records.filter(changed_at__lt=until)
    if site is not None:
        records = records.filter(site=site)
    if experiment is not None:
        records = records.filter(experiment=experiment)
    actions = {AssessmentChange.Event.STARTED: CREATED, AssessmentChange.Event.STOPPED: DELETED}
    return [Change(when=record.changed_at, site=record.site.name,
                   who=f"{record.experiment.name} policy r{record.revision.number}"
                   if record.revision else POLICY_ENGINE,
                   subject=f"{record.experiment.name} scenario",
                   old=_scenario_name(record.old_scenario)
                   if record.event != AssessmentChange.Event.STARTED else "",
                   new=_scenario_name(record.new_scenario)
                   if record.event != AssessmentChange.Event.STOPPED else "",
                   action=actions.get(record.event, CHANGED), reason=record.reason,
                   experiment=record.experiment.name)
            for record in records.order_by("-changed_at", "-id")[:limit]]


def _scenario_name(scenario: Scenario | None) -> str:
    return scenario.short_name if scenario else "Unknown"


def _visible_changes(newest_first, entry: Tracked, site: Site | None) -> list[Change]:
    """Each record compared with the one before it of the same object; a record that shows
    nothing new (a confirmation) is no change, nor is a baseline (what a load left)."""
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
            experiment=_read(entry.experiment, record),
        ))

    for record in newest_first:
        if entry.many_to_many and record.id in later and _same_save(record, later[record.id][0]):
            continue  # a step within one save (federations set: removed, then added)
        value = _read(entry.shown, record)
        if record.id in later:
            newer, newer_value = later[record.id]
            if newer.history_change_reason != BASELINE and (
                    newer.history_type != "~" or newer_value != value):
                emit(newer, newer_value, value)
        later[record.id] = (record, value)
    for record, value in later.values():  # the oldest record read of each object
        if record.history_change_reason == BASELINE:
            continue
        # A change with nothing older to compare: made to a row loaded before the history.
        emit(record, value, NOT_RECORDED if record.history_type == "~" else "")
    return changes


SAME_SAVE = datetime.timedelta(seconds=2)


def _same_save(record, newer) -> bool:
    """Whether two records of one object come from one save by one person: Django sets a
    many-to-many relation by removing and then adding, and each is recorded."""
    return (record.history_type == newer.history_type == "~"
            and record.history_user_id == newer.history_user_id
            and record.history_change_reason == newer.history_change_reason != BASELINE
            and newer.history_date - record.history_date <= SAME_SAVE)


def _site_name(record, entry: Tracked, site: Site | None) -> str:
    if site is not None:
        return site.name
    if entry.site_field == "id":
        return record.name
    if entry.site_field == "site_id":
        return _read(lambda r: r.site.name, record)
    return ""


def _read(describe: Callable, record) -> str:
    """A record's description; what it referred to may have been deleted since: read on
    its own that is DoesNotExist, read with the record (select_related, the history's
    foreign keys having no constraint) it is None, whose attributes are not there."""
    try:
        return describe(record)
    except (ObjectDoesNotExist, AttributeError):
        return "(deleted)"


def _who(record) -> str:
    user = record.history_user
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()
