"""The API's list filters. The sites list uses the sites table's own filter set
(sites.filters.SiteFilterSet), so that a query gives the same sites in both."""

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend

from experiments.models import Compliance, Experiment, Migration, Scenario
from sites.models import Assessment, SiteException


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend. Its parameters are documented from the filter set's form (see
    schema.FilterSetParameters), so that the filters a filter set adds at run time (one per
    capability) and choices read from the database appear in the schema."""


def experiment_filter() -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(
        queryset=Experiment.objects.all(), to_field_name="slug", label="Experiment",
        help_text="An experiment's slug, e.g. cms.")


class AssessmentFilterSet(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__name", label="Site",
                                     help_text="A site's WLCG name, e.g. CERN-PROD.")
    experiment = experiment_filter()
    scenario = django_filters.ModelChoiceFilter(
        queryset=Scenario.objects.all(), to_field_name="slug", label="Scenario",
        help_text="A scenario's slug.")
    compliance = django_filters.ChoiceFilter(
        choices=Compliance.choices, method="by_compliance", label="Compliance",
        help_text="The compliance class: the scenario's, or unknown where the scenario is.")

    class Meta:
        model = Assessment
        fields = ["site", "experiment", "scenario", "compliance"]

    def by_compliance(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.of_compliance(value)


class ExceptionFilterSet(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__name", label="Site",
                                     help_text="A site's WLCG name, e.g. CERN-PROD.")
    experiment = experiment_filter()
    active = django_filters.BooleanFilter(
        method="by_activity", label="Active",
        help_text="true: granted, not expired and not revoked today; false: all others.")

    class Meta:
        model = SiteException
        fields = ["site", "experiment", "active"]

    def by_activity(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        active = SiteException.objects.active_on(timezone.localdate()).values("pk")
        return queryset.filter(pk__in=active) if value else queryset.exclude(pk__in=active)


class StandingExceptionFilterSet(django_filters.FilterSet):
    """The exceptions list's filters, for the standing exceptions it lists after the grants:
    one row per site and experiment a standing exception applies to, always active."""

    site = django_filters.CharFilter(field_name="site__name")
    experiment = experiment_filter()
    active = django_filters.BooleanFilter(method="by_activity")

    class Meta:
        model = Assessment
        fields = ["site", "experiment", "active"]

    def by_activity(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset if value else queryset.none()


class MigrationFilterSet(django_filters.FilterSet):
    experiment = experiment_filter()

    class Meta:
        model = Migration
        fields = ["experiment"]
