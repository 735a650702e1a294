"""The sites table's filters. They live in the URL, so a filtered view can be shared, and
they are the same filters the overview's figures link to."""

import datetime

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from experiments.capabilities import NO, YES, CapabilityKind
from experiments.models import CapabilityDefinition, Compliance, Experiment, Scenario, SiteKind

from .as_of import AsOf
from .cache import cached
from .forms import DateInput
from .models import (
    TIER_CHOICES,
    Assessment,
    CapabilityValue,
    ExceptionFigure,
    ExperimentSite,
    Site,
    SiteException,
)
from .timeline import assessed_on, end_of, exception_sites_on, reported_then, standing_on

NOT_REPORTED = "(not reported)"


def countries() -> list[tuple[str, str]]:
    def read() -> list[tuple[str, str]]:
        names = Site.objects.exclude(country="").order_by("country").values_list("country",
                                                                                  flat=True)
        return [(name, name) for name in names.distinct()]
    return cached("countries", read)


def country_codes() -> dict[str, str]:
    """The sites' ISO 3166 country codes (`DE`, as the API gives `country_code`), each to the
    country's name."""
    def read() -> dict[str, str]:
        pairs = (Site.objects.exclude(country="").exclude(country_code="").order_by()
                 .values_list("country_code", "country").distinct())
        return {code.upper(): name for code, name in pairs}
    return cached("country_codes", read)


class CountryField(django_filters.fields.ChoiceField):
    """A country by its name, as the choices offer it, or by its code: `DE` or `de` is
    `Germany`, and the select shows Germany chosen."""

    def to_python(self, value) -> str:
        value = super().to_python(value)
        return value.upper() if len(value) == 2 else value  # no country's name is 2 letters

    def valid_value(self, value) -> bool:
        return super().valid_value(value) or value in country_codes()

    def bound_data(self, data, initial):
        data = super().bound_data(data, initial)
        if isinstance(data, str) and len(data) == 2:
            return country_codes().get(data.upper(), data)
        return data

    def aliases(self) -> list[str]:
        """What it accepts besides its choices (the API schema lists them too)."""
        return list(country_codes())


class CountryFilter(django_filters.ChoiceFilter):
    field_class = CountryField

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        if value and len(value) == 2:
            return queryset.filter(country_code=value)
        return super().filter(queryset, value)


class SiteFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search",
                                  widget=forms.TextInput(attrs={"type": "search",
                                                                "placeholder": "site, VO name,"
                                                                               " institute…"}))
    experiment = django_filters.ModelChoiceFilter(
        queryset=Experiment.objects.all(), to_field_name="slug", method="by_assessment",
        label="Experiment", empty_label="any")
    scenario = django_filters.ModelChoiceFilter(
        queryset=Scenario.objects.all(), to_field_name="slug", method="by_assessment",
        label="Scenario", empty_label="any")
    compliance = django_filters.ChoiceFilter(choices=Compliance.choices, method="by_assessment",
                                             label="Compliance", empty_label="any")
    exception = django_filters.ChoiceFilter(choices=ExceptionFigure.choices, method="by_assessment",
                                            label="Exception", empty_label="any")
    tier = django_filters.MultipleChoiceFilter(
        choices=[(tier, str(tier)) for tier, _ in TIER_CHOICES], label="Tier", distinct=False,
        widget=forms.CheckboxSelectMultiple)
    country = CountryFilter(choices=countries, empty_label="any", label="Country",
                            help_text="A country's name (e.g. Germany) or its ISO 3166 code "
                                      "(e.g. DE).")
    kind = django_filters.ChoiceFilter(choices=SiteKind.choices, empty_label="any")
    stale = django_filters.NumberFilter(
        method="not_confirmed_for", label="Not confirmed for (days)", min_value=0,
        max_value=36500, widget=forms.NumberInput(attrs={"min": 0, "max": 36500}))
    updated_since = django_filters.DateFilter(
        method="updated_since_date", label="Updated since",
        widget=DateInput())

    class Meta:
        model = Site
        fields = ["q", "experiment", "scenario", "compliance", "exception", "tier", "country",
                  "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The past day the page or API list shows (sites/as_of.py), if any.
        as_of = getattr(self.request, "as_of", None)
        self.as_of = as_of if as_of else None
        for definition in CapabilityDefinition.objects.all():
            capability = capability_filter(definition, as_of)
            capability.parent = self
            self.filters[f"cap_{definition.key}"] = capability

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value) | Q(institute__icontains=value)
            | Q(country__icontains=value)
            | Exists(ExperimentSite.objects.filter(site=OuterRef("pk"), name__icontains=value)))

    def by_assessment(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # Applied together in filter_queryset: “CMS” and “not isolated” mean CMS's scenario.
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.as_of:
            return self.by_assessment_then(queryset, self.as_of.day)
        data = self.form.cleaned_data
        experiment = data.get("experiment")
        # Each condition selects site ids from its own table rather than testing every site
        # (a correlated EXISTS): the database starts from the few matching rows through their
        # indexes, so a narrow filter stays as fast at 20,000 sites as at 200.
        served = ExperimentSite.objects.all()
        assessments = Assessment.objects.all()
        exceptions = SiteException.objects.all()
        if experiment:
            served = served.filter(experiment=experiment)
            assessments = assessments.filter(experiment=experiment)
            exceptions = exceptions.filter(experiment=experiment)
        if data.get("scenario") or data.get("compliance"):
            if data.get("scenario"):
                assessments = assessments.filter(scenario=data["scenario"])
            if data.get("compliance"):
                assessments = assessments.of_compliance(data["compliance"])
            # A site has an assessment only for the experiments it serves.
            queryset = queryset.filter(pk__in=assessments.values("site_id"))
        elif experiment:
            queryset = queryset.filter(pk__in=served.values("site_id"))
        today = timezone.localdate()
        match data.get("exception"):
            case "active":
                queryset = queryset.filter(pk__in=exceptions.active_on(today).values("site_id"))
            case "expiring":
                queryset = queryset.filter(
                    pk__in=exceptions.expiring_soon(today).values("site_id"))
            case "lapsed":
                queryset = queryset.filter(
                    pk__in=assessments.relying_on_lapsed_exception().values("site_id"))
            case "standing":
                queryset = queryset.filter(
                    pk__in=assessments.under_standing_exception().values("site_id"))
        return queryset

    def by_assessment_then(self, queryset: QuerySet, day: datetime.date) -> QuerySet:
        """The same filters as of the end of a past day, on the assessments and exceptions
        as they stood then (sites/timeline.py)."""
        data = self.form.cleaned_data
        experiment = data.get("experiment")
        assessed = {"experiment": experiment} if experiment else {}
        if data.get("scenario"):
            assessed["scenario"] = data["scenario"]
        match data.get("compliance"):
            case None | "":
                pass
            case Compliance.UNKNOWN:
                assessed["scenario__isnull"] = True
            case compliance:
                assessed["scenario__compliance"] = compliance
        if assessed:
            queryset = queryset.filter(assessed_on(day, **assessed))
        figure = data.get("exception")
        if figure in ("active", "expiring", "lapsed"):
            experiments = [experiment] if experiment else list(Experiment.objects.all())
            sites = exception_sites_on(day, figure, [e.id for e in experiments])
            queryset = queryset.filter(pk__in=sites)
            if figure == "lapsed":  # and still falling short of the policy then
                queryset = queryset.filter(assessed_on(
                    day, **{**assessed, "scenario__compliance": Compliance.NON_COMPLIANT}))
        elif figure == "standing":
            queryset = queryset.filter(standing_on(day, experiment))
        return queryset

    def not_confirmed_for(self, queryset: QuerySet, name: str, days) -> QuerySet:
        """Sites that reported, but not in the last `days` days: with the setting's number
        of days, the stale sites. A site that never reported is of unknown scenario instead.
        As of a past day, the days before its end, by the reports as they stood then."""
        if self.as_of:
            before = end_of(self.as_of.day) - datetime.timedelta(days=int(days))
            return queryset.alias(confirmed=reported_then(self.as_of.day, "reported_at")
                                  ).filter(confirmed__lt=before)
        return queryset.confirmed_before(timezone.now() - datetime.timedelta(days=int(days)))

    def updated_since_date(self, queryset: QuerySet, name: str, day: datetime.date) -> QuerySet:
        if self.as_of:  # reports recorded from that day up to the end of the day shown
            recent = CapabilityValue.history.filter(reported_at__date__gte=day,
                                                    history_date__lt=end_of(self.as_of.day))
        else:
            recent = CapabilityValue.objects.filter(reported_at__date__gte=day)
        return queryset.filter(pk__in=recent.values("site_id"))


def capability_filter(definition: CapabilityDefinition, as_of: AsOf | None = None
                      ) -> django_filters.Filter:
    """A filter on one capability's reported value, or on its not being reported (as of the
    end of a past day, where one is given)."""

    def by_value(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if as_of:
            return by_value_then(queryset, value)
        values = CapabilityValue.objects.filter(capability=definition)
        if value == NOT_REPORTED:
            return queryset.exclude(pk__in=values.values("site_id"))
        if definition.kind == CapabilityKind.VERSION:  # “3.8” finds 3.8.7
            values = values.filter(Q(value=value) | Q(value__startswith=f"{value}."))
        else:
            values = values.filter(value=value)
        return queryset.filter(pk__in=values.values("site_id"))

    def by_value_then(queryset: QuerySet, value: str) -> QuerySet:
        queryset = queryset.alias(reported=reported_then(as_of.day, "value",
                                                         capability=definition))
        if value == NOT_REPORTED:
            return queryset.filter(reported=None)
        if definition.kind == CapabilityKind.VERSION:
            return queryset.filter(Q(reported=value) | Q(reported__startswith=f"{value}."))
        return queryset.filter(reported=value)

    if definition.kind == CapabilityKind.VERSION:
        return django_filters.CharFilter(method=by_value, label=definition.name)
    options = [YES, NO] if definition.kind == CapabilityKind.YES_NO else definition.choices
    return django_filters.ChoiceFilter(
        method=by_value, label=definition.name, empty_label="any",
        choices=[(option, option) for option in options] + [(NOT_REPORTED, NOT_REPORTED)])
