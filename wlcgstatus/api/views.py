"""The API's endpoints. Every list is paginated and stably ordered, and loads what it shows in a
number of queries that does not grow with the number of rows."""

from __future__ import annotations

from django.db import transaction
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from queryset_sequence import QuerySetSequence
from rest_framework import generics, mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from experiments.models import (
    ExceptionKind,
    Experiment,
    Migration,
    PolicyRule,
    RuleCondition,
    Scenario,
)
from sites.as_of import PARAMETER as AS_OF
from sites.as_of import AsOf, day_of
from sites.cache import cached
from sites.converters import SITE_NAME
from sites.filters import SiteFilterSet
from sites.models import Assessment, CapabilityValue, ExperimentSite, Site, SiteException
from sites.tables import scenarios_then
from sites.timeline import existing_on
from sites.updates import record_capabilities
from wlcgstatus.past import exception_rows_on, migration_progress_on, status_on
from wlcgstatus.summary import STEPS_PREFETCHED, migration_progress, summarise

from . import serializers
from .authentication import HoldsTokenOfThisSite, SiteTokenAuthentication
from .filters import (
    AssessmentFilterSet,
    ExceptionFilterSet,
    MigrationFilterSet,
    StandingExceptionFilterSet,
)
from .schema import DETAIL, REPORT_ERRORS

EXPERIMENT_ORDER = ("experiment__position", "experiment__name")
SLUG = "[-a-zA-Z0-9_]+"


class AsOfMixin:
    """Lists that show the status at the end of a past day with `?as_of=YYYY-MM-DD`, as the
    dashboard's pages do (sites/as_of.py); a day still to come shows today, and a value that
    is not a day is refused with why. A single object shows today only."""

    shows_past_days = True  # the schema documents `as_of` (api/schema.py)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action != "list":
            refuse_as_of(request)
            return
        request.as_of = AsOf(request.query_params.get(AS_OF), timezone.localdate())
        if request.as_of.malformed:
            raise ValidationError({AS_OF: [request.as_of.problem]})


class TodayOnlyMixin:
    """Lists that cannot show a past day yet."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_as_of(request)


def refuse_as_of(request) -> None:
    """Asked for a past day, what shows today only says so rather than answer for today."""
    if AS_OF in request.query_params:
        raise ValidationError({AS_OF: [
            "This shows today only; the lists /api/sites/, /api/exceptions/, "
            "/api/migrations/ and /api/summary/ show a past day."]})


def as_of(request) -> AsOf | None:
    """The past day the request asks for (None: today, or a request made for the schema)."""
    return getattr(request, "as_of", None) or None


def detailed_assessments() -> QuerySet[Assessment]:
    """Assessments with all that the API shows of each, in the experiments' order."""
    return (Assessment.objects.select_related("experiment", "scenario", "rule", "exception__kind",
                                              "lapsed_exception__kind", "standing_exception",
                                              "revision")
            .with_confirmation().order_by(*EXPERIMENT_ORDER))


def site_assessments(detailed: bool) -> Prefetch:
    return Prefetch("assessments", detailed_assessments() if detailed else
                    Assessment.objects.select_related("experiment", "scenario")
                    .order_by(*EXPERIMENT_ORDER))


def site_values() -> Prefetch:
    return Prefetch("capability_values", CapabilityValue.objects.select_related(
        "capability", "reported_by").order_by("capability__position", "capability__name"))


@extend_schema_view(
    list=extend_schema(summary="Sites, filtered as the sites table filters them",
                       description="The same filters as the dashboard's sites table (/sites/), "
                                   "including one per capability (cap_<key>). Retired sites "
                                   "are not listed."),
    retrieve=extend_schema(summary="A site, by its WLCG name",
                           description="Its experiment names, capability values with who "
                                       "reported them and when, and its assessment per "
                                       "experiment."),
)
class SiteViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    lookup_field = "name"
    lookup_value_regex = SITE_NAME
    filterset_class = SiteFilterSet

    def get_queryset(self):
        names = Prefetch("experiment_sites", ExperimentSite.objects.select_related("experiment")
                         .order_by(*EXPERIMENT_ORDER, "name"))
        queryset = Site.objects.order_by("name").prefetch_related("federations", names)
        if self.action == "retrieve":  # a retired site keeps its page, as on the dashboard
            return queryset.prefetch_related(site_assessments(detailed=True), site_values())
        if past := as_of(self.request):  # each site's scenarios then, in the page's query
            return (queryset.filter(existing_on(past.day))
                    .annotate(**scenarios_then(self.experiments, past.day)))
        # As the sites table: a retired site is no longer listed.
        return queryset.filter(retired_on=None).prefetch_related(
            site_assessments(detailed=False))

    @cached_property
    def experiments(self) -> list[Experiment]:
        return list(Experiment.objects.order_by("position", "name"))

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.SiteDetailSerializer
        if as_of(self.request):
            return serializers.PastSiteSerializer
        return serializers.SiteSerializer

    def get_serializer_context(self):
        if not as_of(self.request):
            return super().get_serializer_context()
        return super().get_serializer_context() | {
            "experiments": self.experiments, "scenarios": Scenario.objects.in_bulk()}


@extend_schema_view(
    list=extend_schema(summary="Experiments, with their policy rules and exception kinds"),
    retrieve=extend_schema(summary="An experiment, by its slug"),
)
class ExperimentViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    lookup_value_regex = SLUG
    serializer_class = serializers.ExperimentSerializer
    queryset = (Experiment.objects.order_by("position", "name")
                .prefetch_related(
                    Prefetch("rules", PolicyRule.objects.select_related("scenario")
                             .order_by("position")
                             .prefetch_related(Prefetch(
                                 "conditions", RuleCondition.objects
                                 .select_related("capability").order_by("id")))),
                    Prefetch("exception_kinds", ExceptionKind.objects.select_related("scenario")
                             .order_by("name", "id"))))


@extend_schema_view(
    list=extend_schema(summary="The WG's isolation scenarios"),
    retrieve=extend_schema(summary="A scenario, by its slug"),
)
class ScenarioViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    lookup_value_regex = SLUG
    serializer_class = serializers.ScenarioSerializer
    queryset = Scenario.objects.order_by("position", "name")


@extend_schema_view(list=extend_schema(summary="Assessments: per site and experiment, the "
                                               "scenario, credentials, workloads and why"))
class AssessmentViewSet(TodayOnlyMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.AssessmentSerializer
    filterset_class = AssessmentFilterSet
    queryset = (detailed_assessments().select_related("site")
                .order_by("site__name", *EXPERIMENT_ORDER))


@extend_schema_view(list=extend_schema(summary="Exceptions granted to sites"))
class ExceptionViewSet(AsOfMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.ExceptionSerializer
    filterset_class = ExceptionFilterSet

    def get_queryset(self):
        # As the sites list: a retired site's exceptions are no longer listed.
        return (SiteException.objects.filter(site__retired_on=None)
                .select_related("site", "experiment", "kind__scenario")
                .with_state(timezone.localdate())
                .order_by("site__name", *EXPERIMENT_ORDER, "-granted_on", "-id"))

    def list(self, request, *args, **kwargs):
        """The grants, then one row per site a standing exception applies to: two querysets
        paginated as one list, so that a page reads only its own rows. As of a past day,
        rebuilt from the grants' history (wlcgstatus/past.py)."""
        if request.as_of:
            return self.list_as_of(request, request.as_of.day)
        grants = self.filter_queryset(self.get_queryset())
        kind = ExceptionKind.objects.standing().filter(experiment=OuterRef("experiment"),
                                                      applies_to=OuterRef("site__kind"))
        standing = StandingExceptionFilterSet(
            request.query_params, request=request,
            queryset=Assessment.objects.filter(site__retired_on=None).under_standing_exception()
            .annotate(standing_kind_id=Subquery(kind.values("id")[:1]))
            .select_related("site", "experiment"),
        ).qs
        # “#”: the grants first, then the standing exceptions; each by site and experiment.
        page = self.paginate_queryset(QuerySetSequence(grants, standing).order_by(
            "#", "site__name", *EXPERIMENT_ORDER, "-pk"))
        kinds = ExceptionKind.objects.select_related("scenario").in_bulk(
            {row.standing_kind_id for row in page if isinstance(row, Assessment)})
        for row in page:
            if isinstance(row, Assessment):
                row.standing_kind = kinds[row.standing_kind_id]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def list_as_of(self, request, day):
        filters = ExceptionFilterSet(request.query_params, queryset=SiteException.objects.none(),
                                     request=request)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        chosen = filters.form.cleaned_data
        experiments = ([chosen["experiment"]] if chosen.get("experiment")
                       else list(Experiment.objects.all()))
        rows = exception_rows_on(day, experiments, chosen.get("site") or "",
                                 chosen.get("active"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(list=extend_schema(summary="Migrations, with each step's progress"))
class MigrationViewSet(AsOfMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.MigrationSerializer
    filterset_class = MigrationFilterSet
    queryset = (Migration.objects.select_related("experiment")
                .prefetch_related(*STEPS_PREFETCHED).order_by(*EXPERIMENT_ORDER, "name", "id"))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if request.as_of:  # rebuilt from the history: cached, as today's summary is
            day = request.as_of.day
            progress = cached(f"migration-progress:{day}:{'-'.join(str(m.id) for m in page)}",
                              lambda: migration_progress_on(page, day))
        else:
            progress = migration_progress(page, timezone.localdate())
        return self.get_paginated_response(self.get_serializer(progress, many=True).data)


@extend_schema_view(list=extend_schema(
    summary="Per experiment: its sites per scenario, per compliance class and by exception "
            "state",
    description="The overview's figures. Each figure links to the sites list behind it."))
class SummaryViewSet(AsOfMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.SummarySerializer
    queryset = Experiment.objects.order_by("position", "name")

    def list(self, request, *args, **kwargs):
        page = list(self.paginate_queryset(self.get_queryset()))
        day = day_of(request)
        # The overview's figures, cached as the overview is (sites/cache.py).
        summaries = cached(
            f"summary:{day}:{bool(request.as_of)}:{'-'.join(str(e.id) for e in page)}",
            lambda: status_on(day, page).summaries if request.as_of else summarise(day, page))
        return self.get_paginated_response(self.get_serializer(summaries, many=True).data)


class CapabilityReportView(generics.GenericAPIView):
    """Report a site's capability values with an API token of that site."""

    authentication_classes = [SiteTokenAuthentication]
    permission_classes = [HoldsTokenOfThisSite]
    serializer_class = serializers.CapabilityReportSerializer
    queryset = Site.objects.all()
    filter_backends = []
    pagination_class = None

    @extend_schema(
        summary="Report a site's capability values",
        description="Only the capabilities given change; an empty string withdraws a value. "
                    "The values are checked as the capability form checks them; if any is "
                    "wrong, nothing is stored. Every value sent counts as confirmed, changed "
                    "or not. The answer holds the site's values and its assessments after "
                    "the change.",
        request=serializers.CapabilityReportSerializer,
        responses={
            200: serializers.CapabilityReportResultSerializer,
            400: OpenApiResponse(REPORT_ERRORS, "A value is wrong; nothing was stored."),
            401: OpenApiResponse(DETAIL, "No token, or an unknown or revoked one."),
            403: OpenApiResponse(DETAIL, "The token is another site's, or its maker may no "
                                         "longer edit the site."),
        },
    )
    def post(self, request, name: str):
        token = request.auth
        site = token.site
        with transaction.atomic():
            # Locked from the check to the save, as the capability form does: the values are
            # checked against the site's values as they will be.
            Site.objects.select_for_update().get(pk=site.pk)
            report = self.get_serializer(data=request.data, context={
                **self.get_serializer_context(), "site": site})
            report.is_valid(raise_exception=True)
            changed = record_capabilities(site, report.validated_data["values"],
                                          user=token.created_by,
                                          source=report.validated_data["reporter"])
        result = {
            "site": site.name,
            "changed": changed,
            "capabilities": CapabilityValue.objects.filter(site=site)
                            .select_related("capability", "reported_by")
                            .order_by("capability__position", "capability__name"),
            "assessments": detailed_assessments().filter(site=site),
        }
        return Response(serializers.CapabilityReportResultSerializer(
            result, context=self.get_serializer_context()).data)
