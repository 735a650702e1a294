import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Max, Prefetch
from django.db.models.functions import Lower
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin

from experiments.models import (
    CapabilityDefinition,
    ExceptionKind,
    Experiment,
    Migration,
    Scenario,
)

from .as_of import shows_status_as_of
from .filters import SiteFilterSet
from .forms import (
    CapabilityForm,
    GrantExceptionForm,
    ProgressForm,
    RenewExceptionForm,
    RevokeExceptionForm,
    TokenForm,
)
from .history import site_history
from .models import (
    EXPIRY_WARNING_DAYS,
    Assessment,
    CapabilityValue,
    ImportRun,
    Site,
    SiteException,
    SiteMigration,
    SiteSource,
    SiteToken,
)
from .permissions import can_edit_site, can_manage_exceptions
from .recompute import preview
from .site_as_of import site_on
from .tables import SiteExport, SiteTable, stream_csv, with_table_columns
from .tasks import import_from_cric
from .timeline import existing_on
from .updates import changes_since, current_values, record_capabilities, values_token


class SiteListView(ExportMixin, SingleTableMixin, FilterView):
    """Every site, filtered from the URL; exports give exactly the filtered rows."""

    filterset_class = SiteFilterSet
    table_class = SiteTable
    table_pagination = {"per_page": 50}
    template_name = "sites/site_list.html"
    export_class = SiteExport
    export_formats = SiteExport.OFFERED
    export_name = "wlcg-sites"
    shows_past_days = True  # as_of: its dispatch reads it (wlcgstatus/pages.py)

    @method_decorator(shows_status_as_of)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        self.experiments = list(Experiment.objects.all())
        as_of = self.request.as_of
        sites = (Site.objects.filter(existing_on(as_of.day)) if as_of
                 else Site.objects.filter(retired_on=None))
        return with_table_columns(sites, self.experiments, as_of,
                                  decisions=self.exports_decisions())

    def exporting(self) -> bool:
        return self.export_class.is_valid_format(self.request.GET.get(self.export_trigger_param))

    def exports_decisions(self) -> bool:
        """Whether this is an export of today's table, which names what decided each
        assessment (a past day's history keeps no such names)."""
        return self.exporting() and not self.request.as_of

    def get_table_kwargs(self):
        return {"experiments": self.experiments, "as_of": self.request.as_of,
                "decisions": self.exports_decisions()}

    def get_table(self, **kwargs):
        # An export asks for the table again after the page's context made it: once will do.
        if not hasattr(self, "_table"):
            self._table = super().get_table(**kwargs)
        return self._table

    def get_table_pagination(self, table):
        if self.exporting():  # every row: no page to count them for
            return False
        return super().get_table_pagination(table)

    def create_export(self, export_format: str):
        if export_format != "csv":
            return super().create_export(export_format)
        response = StreamingHttpResponse(stream_csv(self.get_table(**self.get_table_kwargs())),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{self.get_export_filename(export_format)}"')
        return response


@shows_status_as_of
def site_detail(request, name: str):
    site = get_object_or_404(Site.objects.prefetch_related("federations", "sources"), name=name)
    context = {
        "site": site,
        "retired_on": site.retired_on,
        "can_edit": can_edit_site(request.user, site),
        "can_manage_exceptions": can_manage_exceptions(request.user),
        "public_url": settings.SITE_URL,
    }
    if request.as_of:
        return render(request, "sites/site_detail.html", context | site_on(site, request.as_of.day))
    reported = {value.capability_id: value for value in
                CapabilityValue.objects.filter(site=site).select_related("reported_by")}
    return render(request, "sites/site_detail.html", context | {
        "names": site.experiment_sites.select_related("experiment").order_by(
            "experiment__position", "name"),
        "capabilities": [(definition, reported.get(definition.id))
                         for definition in CapabilityDefinition.objects.all()],
        "assessments": Assessment.objects.filter(site=site)
                       .select_related("experiment", "scenario", "rule", "exception__kind",
                                       "standing_exception", "lapsed_exception", "revision")
                       .with_confirmation().order_by("experiment__position"),
        "exceptions": SiteException.objects.filter(site=site)
                      .select_related("experiment", "kind")
                      .with_state(timezone.localdate()).order_by("-granted_on"),
        "standing": ExceptionKind.objects.standing().filter(
            applies_to=site.kind, experiment__experiment_sites__site=site,
        ).select_related("experiment").distinct(),
        "migrations": site_migrations(site),
    })


def site_history_page(request, name: str):
    """The site's change history: a page of its own, as the status page's own tab."""
    site = get_object_or_404(Site, name=name)
    return render(request, "sites/site_history.html", {"site": site,
                                                       "history": site_history(site)})


def site_migrations(site: Site) -> list[tuple[Migration, SiteMigration | None]]:
    """Every migration of the experiments the site serves, with how far the site has come
    (None: nothing recorded yet)."""
    states = {state.migration_id: state for state in SiteMigration.objects.filter(site=site)
              .select_related("completed_step", "recorded_by")}
    migrations = (Migration.objects.filter(experiment__experiment_sites__site=site).distinct()
                  .select_related("experiment").with_derived()
                  .order_by("experiment__position", "name"))
    return [(migration, states.get(migration.id)) for migration in migrations]


def get_editable_site(request, name: str) -> Site:
    """The site, if the user may edit it: contacts their own sites, WG members any."""
    site = get_object_or_404(Site, name=name)
    if not can_edit_site(request.user, site):
        raise PermissionDenied("You are not a contact of this site.")
    return site


@login_required
def site_capabilities(request, name: str):
    """The capability form: preview what a change would do, then save it."""
    site = get_editable_site(request, name)
    definitions = list(CapabilityDefinition.objects.select_related("only_with"))
    if request.method != "POST":
        form = CapabilityForm(definitions=definitions,
                              initial={**current_values(site), "values_token": values_token(site)})
        return _capability_page(request, site, form)

    form = CapabilityForm(request.POST, definitions=definitions)
    if not form.is_valid():
        return _capability_page(request, site, form)
    with transaction.atomic():
        # The site's row stays locked from the check to the save: two saves cannot both pass.
        Site.objects.select_for_update().get(pk=site.pk)
        meanwhile = changes_since(site, form.cleaned_data["values_token"])
        if meanwhile:
            return _conflict_page(request, site, definitions, meanwhile)
        if "save" not in request.POST:
            return _capability_page(request, site, form, preview=_preview(site, form.values()))
        before = _scenarios(site)
        changed = record_capabilities(site, form.values(), user=request.user)
        after = _scenarios(site)
    outcome = "; ".join(f"{name}: {before.get(name, 'unknown')} → {after[name]}"
                        for name in after if before.get(name) != after[name])
    messages.success(request, f"Saved {len(changed)} change{'s' if len(changed) != 1 else ''}"
                              f" to {site.name}'s capabilities."
                              + (f" {outcome}." if outcome else " No assessment changed."))
    return redirect(site)


def _conflict_page(request, site, definitions, meanwhile):
    """Someone saved first. Keep the user's entries, show what changed, and let the next save
    through: the user has now seen the current values."""
    data = request.POST.copy()
    data["values_token"] = values_token(site)
    form = CapabilityForm(data, definitions=definitions)
    form.is_valid()
    form.add_error(None, "Someone else saved this site's capabilities after you opened the "
                         "form. Your entries are kept below: check them against the changes, "
                         "then preview and save again.")
    return _capability_page(request, site, form, meanwhile=meanwhile)


def _capability_page(request, site, form, preview=None, meanwhile=None):
    return render(request, "sites/site_capabilities.html", {
        "site": site, "form": form, "preview": preview, "meanwhile": meanwhile,
    }, status=200)


def _scenarios(site: Site) -> dict[str, str]:
    return {a.experiment.name: a.scenario.short_name if a.scenario else "no scenario"
            for a in Assessment.objects.filter(site=site)
            .select_related("experiment", "scenario").order_by("experiment__position")}


def _preview(site: Site, values: dict[str, str]) -> list[dict]:
    """Per experiment: the scenario now, the scenario after the change, and why."""
    current = {a.experiment_id: a for a in Assessment.objects.filter(site=site)
               .select_related("scenario")}
    reported = {key: value for key, value in values.items() if value}
    results = preview(site, reported)
    scenarios = Scenario.objects.in_bulk([r.outcome.scenario_id for r in results.values()
                                          if r.outcome])
    rows = []
    for experiment in Experiment.objects.filter(id__in=results):
        result = results[experiment.id]
        before = current.get(experiment.id)
        after = scenarios.get(result.outcome.scenario_id) if result.outcome else None
        rows.append({"experiment": experiment, "before": before.scenario if before else None,
                     "after": after, "reason": result.reason,
                     "changes": (before.scenario if before else None) != after})
    return rows


# --- API tokens: those who may edit a site create tokens for programs that report its
# capabilities, see when each was last used, and revoke them.

@never_cache  # the page that shows a new key must not be kept by any cache
@login_required
def site_tokens(request, name: str):
    site = get_editable_site(request, name)
    form = TokenForm(request.POST or None)
    created = key = None
    if request.method == "POST" and form.is_valid():
        created, key = SiteToken.issue(site, form.cleaned_data["name"], request.user)
        form = TokenForm()
    return render(request, "sites/site_tokens.html", {
        "site": site,
        "form": form,
        "tokens": site.api_tokens.select_related("created_by"),
        "created": created,
        "key": key,
        "endpoint": request.build_absolute_uri(reverse("api:site-capabilities",
                                                       args=[site.name])),
    })


@require_POST
@login_required
def revoke_token(request, name: str, pk: int):
    site = get_editable_site(request, name)
    token = get_object_or_404(SiteToken, pk=pk, site=site)
    token.revoke()
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect("sites:site_tokens", site.name)


@login_required
def my_sites(request):
    """A contact's sites: what each experiment derives from them, and what needs attention."""
    today = timezone.localdate()
    sites = (request.user.contact_for_sites.order_by("name")
             .prefetch_related(Prefetch("assessments", Assessment.objects
                                        .select_related("experiment", "scenario")
                                        .order_by("experiment__position")))
             .annotate(last_reported_at=Max("capability_values__reported_at")))
    expiring = (SiteException.objects.filter(site__in=sites).expiring_soon(today)
                .select_related("site", "experiment", "kind"))
    stale_before = timezone.now() - datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS)
    return render(request, "sites/my_sites.html", {
        "sites": sites, "expiring": expiring, "stale_before": stale_before,
        "confirm_days": settings.CAPABILITY_CONFIRM_DAYS, "warning_days": EXPIRY_WARNING_DAYS,
    })


@login_required
def record_progress(request, name: str, experiment: str, slug: str):
    """A WG member records how far a site has come in a migration that no report shows (e.g.
    AliEn retired); a migration derived from the assessments is not recorded by hand."""
    if not can_manage_exceptions(request.user):
        raise PermissionDenied("Only WG members record migration progress.")
    site = get_object_or_404(Site, name=name)
    migration = get_object_or_404(
        Migration.objects.select_related("experiment").prefetch_related("steps__done_in"),
        experiment__slug=experiment, slug=slug, experiment__experiment_sites__site=site)
    if migration.derived:
        raise PermissionDenied(f"{migration.name} follows the site's assessments: it is not "
                               f"recorded by hand.")
    state = SiteMigration.objects.filter(site=site, migration=migration).first()
    form = ProgressForm(request.POST or None, migration=migration,
                        initial={"completed_step": state.completed_step_id if state else None})
    if request.method == "POST" and form.is_valid():
        state = state or SiteMigration(site=site, migration=migration)
        state.completed_step = form.cleaned_data["completed_step"]
        state.updated_on = timezone.localdate()
        state.recorded_by = request.user
        state._change_reason = f"Recorded by {_person(request.user)}: " \
                               f"{form.cleaned_data['reason']}"
        state.save()
        done = state.completed_step.name if state.completed_step else "not started"
        messages.success(request, f"{migration.name} at {site.name}: {done}.")
        return redirect(site)
    return render(request, "sites/exception_form.html", {
        "site": site, "form": form,
        "title": f"{migration.name} at {site.name}", "button": "Record"})


def _exception_permission(request) -> None:
    if not can_manage_exceptions(request.user):
        raise PermissionDenied("Only WG members grant, renew and revoke exceptions.")


@login_required
def exception_grant(request, name: str):
    _exception_permission(request)
    site = get_object_or_404(Site, name=name)
    form = GrantExceptionForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        exception = form.save(commit=False)
        exception.granted_by = _person(request.user)
        exception.granted_on = timezone.localdate()
        exception._change_reason = f"Granted: {exception.reason}"
        exception.save()
        messages.success(request, f"{exception.kind.name} granted to {site.name} until "
                                  f"{exception.expires_on or 'further notice'}.")
        return redirect(site)
    return render(request, "sites/exception_form.html", {
        "site": site, "form": form, "title": f"Grant an exception to {site.name}",
        "button": "Grant"})


@login_required
def exception_renew(request, pk: int):
    _exception_permission(request)
    exception = get_object_or_404(SiteException.objects.select_related("site", "kind"), pk=pk)
    form = RenewExceptionForm(request.POST or None, exception=exception)
    if request.method == "POST" and form.is_valid():
        exception.expires_on = form.cleaned_data["expires_on"]
        exception.revoked_on = None
        exception._change_reason = f"Renewed by {_person(request.user)}: " \
                                   f"{form.cleaned_data['reason']}"
        exception.save()
        messages.success(request, f"{exception.kind.name} at {exception.site.name} renewed "
                                  f"until {exception.expires_on}.")
        return redirect(exception.site)
    return render(request, "sites/exception_form.html", {
        "site": exception.site, "form": form, "exception": exception,
        "title": f"Renew {exception.kind.name} at {exception.site.name}", "button": "Renew"})


@login_required
def exception_revoke(request, pk: int):
    _exception_permission(request)
    exception = get_object_or_404(SiteException.objects.select_related("site", "kind"), pk=pk,
                                  revoked_on=None)
    form = RevokeExceptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        exception.revoked_on = timezone.localdate()
        exception._change_reason = f"Revoked by {_person(request.user)}: " \
                                   f"{form.cleaned_data['reason']}"
        exception.save()
        messages.success(request, f"{exception.kind.name} at {exception.site.name} revoked.")
        return redirect(exception.site)
    return render(request, "sites/exception_form.html", {
        "site": exception.site, "form": form, "exception": exception,
        "title": f"Revoke {exception.kind.name} at {exception.site.name}", "button": "Revoke"})


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


@login_required
def import_runs(request):
    """The imports from the sources of truth, newest first, with what each changed or why it
    failed; the sites they propose for retirement; and, for WG members, a CRIC import now."""
    if not request.user.has_perm("sites.view_importrun"):
        raise PermissionDenied("Only WG members see the import runs.")
    if request.method == "POST":
        if not request.user.has_perm("sites.add_importrun"):
            raise PermissionDenied("Only WG members start an import.")
        if not settings.CRIC_URL:
            messages.error(request, "No CRIC_URL is configured: there is nothing to import from.")
            return redirect("sites:import_runs")
        dry_run = request.POST.get("dry_run") == "on"
        result = import_from_cric.delay(trigger=ImportRun.Trigger.PAGE,
                                        user_id=request.user.pk, dry_run=dry_run)
        if result.ready():  # run in-process (no broker): its run is below
            messages.success(request, "The CRIC import ran: its run is at the top below.")
        else:
            messages.success(request, "The CRIC import started: reload the page to see its run.")
        return redirect("sites:import_runs")
    runs = Paginator(ImportRun.objects.select_related("started_by"), 25)
    proposed = (SiteSource.objects.proposing_retirement().select_related("site")
                .order_by(Lower("site__name"), "source"))
    return render(request, "sites/import_runs.html", {
        "runs": runs.get_page(request.GET.get("page")),
        "proposed": proposed,
        "cric_url": settings.CRIC_URL,
        "can_start": request.user.has_perm("sites.add_importrun"),
    })
