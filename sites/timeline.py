"""The state of every site on a past day, rebuilt from what is stored now and the changes
recorded since: the source of reports “as of” a date and of backfilled snapshots."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from experiments.models import ExceptionKind, Experiment

from .assessment import Grant
from .history import BASELINE
from .models import (
    EXPIRY_WARNING_DAYS,
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExceptionState,
    Site,
    SiteException,
)

ONE_DAY = datetime.timedelta(days=1)


def end_of(day: datetime.date) -> datetime.datetime:
    """The first moment after the day, in the project's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day + ONE_DAY, datetime.time()))


def scenarios_on(day: datetime.date, experiment_ids: list[int] | None = None
                 ) -> dict[tuple[int, int], int | None]:
    """(site id, experiment id) → scenario id at the end of the day, for the experiments each
    site served then."""
    _day, state = next(scenarios_by_day(day, day, experiment_ids))
    return state


def scenarios_by_day(first: datetime.date, last: datetime.date,
                     experiment_ids: list[int] | None = None
                     ) -> Iterator[tuple[datetime.date, dict[tuple[int, int], int | None]]]:
    """For each day from `last` back to `first`, the state at its end as `scenarios_on` gives
    it: today's assessments, with every change recorded after that day undone, newest first.
    One pass over the history for the whole range; the state yielded is the same dictionary
    each time, changed in place, so read it before asking for the next day."""
    assessments = Assessment.objects.all()
    changes = AssessmentChange.objects.filter(changed_at__gte=end_of(first))
    if experiment_ids is not None:
        assessments = assessments.filter(experiment_id__in=experiment_ids)
        changes = changes.filter(experiment_id__in=experiment_ids)
    state = {(site, experiment): scenario for site, experiment, scenario in
             assessments.values_list("site_id", "experiment_id", "scenario_id")}
    newest_first = iter(changes.order_by("-changed_at", "-id").values_list(
        "changed_at", "event", "site_id", "experiment_id", "old_scenario_id"))
    pending = next(newest_first, None)
    day = last
    while day >= first:
        end = end_of(day)
        while pending is not None and pending[0] >= end:
            _changed_at, event, site, experiment, old = pending
            if event == AssessmentChange.Event.STARTED:
                state.pop((site, experiment), None)  # it did not serve the experiment yet
            else:
                state[site, experiment] = old
            pending = next(newest_first, None)
        yield day, state
        day -= ONE_DAY


def exceptions_on(day: datetime.date, experiment_ids: list[int], **filters
                  ) -> list[SiteException]:
    """The experiments' exceptions (those matching the filters, e.g. site_id) as they stood
    at the end of the day (dates as then, before any later renewal or revocation), from
    their history; those without history before the day are taken as they are now, those
    created after it are left out."""
    end = end_of(day)
    latest, created_later = {}, set()
    for record in (SiteException.history.filter(experiment_id__in=experiment_ids, **filters)
                   .order_by("history_date", "history_id")):
        if record.history_date < end:
            latest[record.id] = record
        elif record.history_type == "+" and record.id not in latest:
            created_later.add(record.id)
    exceptions = []
    for exception in (SiteException.objects.filter(experiment_id__in=experiment_ids, **filters)
                      .select_related("site", "kind__scenario", "experiment")):
        record = latest.get(exception.id)
        if record is not None:
            if record.history_type == "-":
                continue
            exception.granted_on = record.granted_on
            exception.expires_on = record.expires_on
            exception.revoked_on = record.revoked_on
        elif exception.id in created_later:
            continue
        exceptions.append(exception)
    return exceptions


def active_on(exception: SiteException, day: datetime.date) -> bool:
    return grant_of(exception).active_on(day)


def grant_of(exception: SiteException) -> Grant:
    return Grant(exception.id, exception.kind.name, None, exception.granted_on,
                 exception.expires_on, exception.revoked_on)


def state_on(exception: SiteException, day: datetime.date) -> ExceptionState:
    """Where the exception stood on the day, as `SiteException.objects.with_state` says."""
    if exception.revoked_on and exception.revoked_on <= day:
        return ExceptionState.REVOKED
    if exception.granted_on > day:
        return ExceptionState.UPCOMING
    return ExceptionState.ACTIVE if active_on(exception, day) else ExceptionState.EXPIRED


def exception_figures(exceptions: list[SiteException], day: datetime.date
                      ) -> dict[str, set[tuple[int, int]]]:
    """The (site id, experiment id) pairs each exception figure ("active", "expiring",
    "lapsed") counts at the end of the day, of these exceptions as they stood then. Lapsed:
    expired with no other exception of the experiment active (whether the site still fell
    short is for the caller to ask)."""
    active = {(e.site_id, e.experiment_id) for e in exceptions if active_on(e, day)}
    horizon = day + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    return {
        "active": active,
        "expiring": {(e.site_id, e.experiment_id) for e in exceptions if active_on(e, day)
                     and e.expires_on and e.expires_on <= horizon},
        "lapsed": {(e.site_id, e.experiment_id) for e in exceptions
                   if (e.site_id, e.experiment_id) not in active
                   and grant_of(e).lapsed_on(day)},
    }


def exception_sites_on(day: datetime.date, figure: str, experiment_ids: list[int]) -> set[int]:
    """The ids of the sites an exception figure counted at the end of the day, by the
    experiments' exceptions as they stood then (`exception_figures`)."""
    pairs = exception_figures(exceptions_on(day, experiment_ids), day)[figure]
    return {site_id for site_id, _experiment_id in pairs}


def confirmed_on(day: datetime.date) -> dict[int, datetime.datetime]:
    """Site id → when its capabilities had last been confirmed, as of the end of the day: the
    latest report time its values carried then (every save confirms all of a site's values,
    and is a record in their history)."""
    end = end_of(day)
    recorded = (CapabilityValue.history.filter(history_date__lt=end)
                .exclude(history_type="-"))
    # And the values kept unchanged since before the day (or stored without history).
    kept = CapabilityValue.objects.filter(reported_at__lt=end)
    latest: dict[int, datetime.datetime] = {}
    for values in (recorded, kept):
        for site_id, reported_at in (values.order_by().values("site_id")
                                     .annotate(last=Max("reported_at"))
                                     .values_list("site_id", "last")):
            if reported_at < end and (site_id not in latest or reported_at > latest[site_id]):
                latest[site_id] = reported_at
    return latest


def values_on(model, day: datetime.date, fields: tuple[str, ...], **filters
              ) -> dict[int, tuple]:
    """Id → the given fields of each row of a model with history (django-simple-history), as
    it stood at the end of the day: its last record before then; with none, its first record
    if that is the baseline of loaded data (it was there, as loaded); a row with no record
    before then is taken as it is now, unless it was created later (or deleted since)."""
    end = end_of(day)
    then: dict[int, tuple | None] = {}
    created_later = set()
    # The records and the rows as they are now, in one query: the rows are told apart by a
    # history id of 0 and come after every record.
    records = (model.history.filter(**filters).order_by()
               .values_list("id", "history_id", "history_type", "history_date",
                            "history_change_reason", *fields))
    rows = (model.objects.filter(**filters).order_by()
            .annotate(_history_id=Value(0, IntegerField()), _type=Value("", CharField()),
                      _date=Value(None, DateTimeField()), _reason=Value("", CharField()))
            .values_list("id", "_history_id", "_type", "_date", "_reason", *fields))
    for pk, history_id, history_type, history_date, reason, *values in sorted(
            records.union(rows, all=True),
            key=lambda row: (row[1] == 0, row[3] or end, row[1])):
        if history_id == 0:  # as it is now
            if pk not in then and pk not in created_later:
                then[pk] = tuple(values)
        elif history_date < end:
            then[pk] = None if history_type == "-" else tuple(values)
        elif pk not in then and pk not in created_later:
            if reason == BASELINE:
                then[pk] = tuple(values)
            elif history_type == "+":
                created_later.add(pk)
    return {pk: values for pk, values in then.items() if values is not None}


def objects_on(model, day: datetime.date, **filters) -> list:
    """The rows of a model with history as they stood at the end of the day (`values_on`),
    as instances of the model: to be read, not saved."""
    fields = tuple(field.attname for field in model._meta.concrete_fields
                   if not field.primary_key)
    return [model(pk=pk, **dict(zip(fields, values, strict=True)))
            for pk, values in values_on(model, day, fields, **filters).items()]


# The same state in SQL, for the pages that filter, sort and page through sites as of a
# past day with the queries they use for the present. A (site, experiment)'s first change
# after the day says what it was at the day's end (its old scenario, or not served yet if
# it began then); with no change since, it is as it is now. Each is an index lookup on
# (site, experiment, changed_at): the cost of a page does not grow with the history.

def _changes_after(day: datetime.date, site, experiment):
    return AssessmentChange.objects.filter(site=site, experiment=experiment,
                                           changed_at__gte=end_of(day)).order_by()


def scenario_then(day: datetime.date, experiment_id: int, field: str, unknown=None):
    """The site's (OuterRef "pk") scenario `field` ("id", "position", ...) for the
    experiment at the end of the day: NULL where it did not serve the experiment, `unknown`
    where its scenario was unknown."""
    first_after = (_changes_after(day, OuterRef("pk"), experiment_id)
                   .order_by("changed_at", "id"))
    then = Case(When(event=AssessmentChange.Event.STARTED, then=None),
                default=Coalesce(f"old_scenario__{field}", unknown))
    now = (Assessment.objects.filter(site=OuterRef("pk"), experiment_id=experiment_id)
           .order_by().values(now=Coalesce(f"scenario__{field}", unknown))[:1])
    return Case(When(Exists(first_after), then=Subquery(first_after.values(then=then)[:1])),
                default=Subquery(now))


def _unchanged_since(day: datetime.date):
    """The stored assessments no change has touched since the day: as they were then."""
    return Assessment.objects.filter(~Exists(_changes_after(day, OuterRef("site"),
                                                            OuterRef("experiment"))))


def _first_changes_after(day: datetime.date):
    """Each (site, experiment)'s first change after the day, where it served the experiment
    then: its old scenario is the one it had."""
    earlier = AssessmentChange.objects.filter(
        site=OuterRef("site"), experiment=OuterRef("experiment"), changed_at__gte=end_of(day)
    ).filter(Q(changed_at__lt=OuterRef("changed_at"))
             | Q(changed_at=OuterRef("changed_at"), id__lt=OuterRef("id")))
    return (AssessmentChange.objects.filter(changed_at__gte=end_of(day))
            .exclude(event=AssessmentChange.Event.STARTED).filter(~Exists(earlier)))


def assessed_on(day: datetime.date, **filters) -> Q:
    """Sites (a Q on Site) with an assessment at the end of the day that matches the
    filters, given as on Assessment: experiment, scenario, scenario__compliance,
    scenario__isnull."""
    then = {key.replace("scenario", "old_scenario", 1) if key.startswith("scenario") else key:
            value for key, value in filters.items()}
    return (Q(pk__in=_unchanged_since(day).filter(**filters).values("site_id"))
            | Q(pk__in=_first_changes_after(day).filter(**then).values("site_id")))


def standing_on(day: datetime.date, experiment: Experiment | None = None) -> Q:
    """Sites (a Q on Site) that a standing exception (of the experiment, or of any) applied
    to at the end of the day: of the kind it applies to, serving its experiment then."""
    applies = Q(pk__in=[])
    kinds = ExceptionKind.objects.standing()
    if experiment is not None:
        kinds = kinds.filter(experiment=experiment)
    for experiment_id, site_kind in kinds.values_list("experiment_id", "applies_to"):
        applies |= assessed_on(day, experiment=experiment_id) & Q(kind=site_kind)
    return applies


def scenario_counts_on(day: datetime.date) -> Counter:
    """(experiment id, scenario id) → the sites assessed so at the end of the day, in two
    aggregate queries."""
    counts = Counter()
    for rows in (_unchanged_since(day).values_list("experiment_id", "scenario_id"),
                 _first_changes_after(day).values_list("experiment_id", "old_scenario_id")):
        for experiment_id, scenario_id, n in rows.order_by().annotate(n=Count("id")):
            counts[experiment_id, scenario_id] += n
    return counts


def existing_on(day: datetime.date) -> Q:
    """Sites (a Q on Site) there at the end of the day: not retired by then, and not
    created after it (a fixture's baseline record says it was there when loaded)."""
    created_later = (Site.history.filter(id=OuterRef("pk"), history_type="+",
                                         history_date__gte=end_of(day))
                     .exclude(history_change_reason=BASELINE))
    return (Q(retired_on=None) | Q(retired_on__gt=day)) & ~Q(Exists(created_later))


def reported_then(day: datetime.date, field: str, **filters) -> Case:
    """A capability value's `field` ("value", "reported_at") at the end of the day, of the
    site (OuterRef "pk") and the value matching the filters: its last record before then (a
    deleted one reads NULL), else its baseline record, else the value as it is now, unless
    it was first recorded after the day. The newest matching value where several do. A
    report time after the day's end (a baseline loaded with later dates) was not known
    then: NULL, as `confirmed_on` leaves it out."""
    end = end_of(day)
    records = CapabilityValue.history.filter(site_id=OuterRef("pk"), **filters).order_by()
    before = records.filter(history_date__lt=end).order_by("-history_date", "-history_id")
    baseline = records.filter(history_change_reason=BASELINE).order_by("-history_id")
    now = (CapabilityValue.objects.filter(site=OuterRef("pk"), **filters)
           .filter(~Exists(CapabilityValue.history.filter(id=OuterRef("pk"))),
                   reported_at__lt=end)
           .order_by(f"-{field}"))
    known = (Case(When(reported_at__lt=end, then=F(field)), default=None)
             if field == "reported_at" else F(field))
    return Case(
        When(Exists(before), then=Subquery(before.values(
            then=Case(When(history_type="-", then=None), default=known))[:1])),
        When(Exists(baseline), then=Subquery(baseline.values(then=known)[:1])),
        default=Subquery(now.values(field)[:1]))
