from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin, TableExport

from experiments.models import CapabilityDefinition, Experiment

from .filters import SiteFilterSet
from .history import site_history
from .models import Assessment, CapabilityValue, Site, SiteException, SiteMigration
from .tables import SiteTable, with_table_columns


class SiteExport(TableExport):
    """Only the formats the page offers; any other `_export` value shows the page."""

    OFFERED = ("csv", "xlsx", "json")

    @classmethod
    def is_valid_format(cls, export_format: str | None) -> bool:
        return export_format in cls.OFFERED


class SiteListView(ExportMixin, SingleTableMixin, FilterView):
    """Every site, filtered from the URL; exports give exactly the filtered rows."""

    filterset_class = SiteFilterSet
    table_class = SiteTable
    table_pagination = {"per_page": 50}
    template_name = "sites/site_list.html"
    export_class = SiteExport
    export_formats = SiteExport.OFFERED
    export_name = "wlcg-sites"

    def get_queryset(self):
        self.experiments = list(Experiment.objects.all())
        return with_table_columns(Site.objects.all(), self.experiments)

    def get_table_kwargs(self):
        return {"experiments": self.experiments}


def site_detail(request, name: str):
    site = get_object_or_404(Site.objects.prefetch_related("federations"), name=name)
    reported = {value.capability_id: value for value in
                CapabilityValue.objects.filter(site=site).select_related("reported_by")}
    capabilities = [(definition, reported.get(definition.id))
                    for definition in CapabilityDefinition.objects.all()]
    today = timezone.localdate()
    exceptions = list(SiteException.objects.filter(site=site)
                      .select_related("experiment", "kind").order_by("-granted_on"))
    active = set(SiteException.objects.filter(site=site).active_on(today)
                 .values_list("id", flat=True))
    return render(request, "sites/site_detail.html", {
        "site": site,
        "names": site.experiment_sites.select_related("experiment").order_by(
            "experiment__position", "name"),
        "capabilities": capabilities,
        "assessments": Assessment.objects.filter(site=site)
                       .select_related("experiment", "scenario", "rule", "exception__kind",
                                       "lapsed_exception")
                       .order_by("experiment__position"),
        "exceptions": [(exception, exception.id in active) for exception in exceptions],
        "migrations": SiteMigration.objects.filter(site=site)
                      .select_related("migration__experiment", "completed_step")
                      .order_by("migration__experiment__position"),
        "history": site_history(site),
        "today": today,
    })
