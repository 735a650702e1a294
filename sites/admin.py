from django.contrib import admin, messages
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Federation,
    Site,
    SiteContact,
    SiteException,
    SiteMigration,
    SiteSource,
    SiteToken,
)


class ExperimentSiteInline(admin.TabularInline):
    model = ExperimentSite
    extra = 0


class CapabilityValueInline(admin.TabularInline):
    model = CapabilityValue
    fields = ["capability", "value", "source", "reported_by", "reported_at"]
    autocomplete_fields = ["reported_by"]
    extra = 0


class SiteExceptionInline(admin.TabularInline):
    model = SiteException
    fields = ["experiment", "kind", "reason", "granted_by", "granted_on", "expires_on",
              "revoked_on"]
    extra = 0


class AssessmentInline(admin.TabularInline):
    """Derived data: shown, never edited."""

    model = Assessment
    fields = ["experiment", "scenario", "allows_production", "allows_user_jobs", "reason"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Federation)
class FederationAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class SiteContactInline(admin.TabularInline):
    """Contacts added here are made by hand; those single sign-on made come and go with the
    identity provider's groups."""

    model = SiteContact
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["granted"]


class SiteSourceInline(admin.TabularInline):
    """What the imports record: which sources list the site, since when it is gone from one,
    and the state a source gives it."""

    model = SiteSource
    fields = ["source", "listed_since", "gone_since", "state"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ProposedForRetirement(admin.SimpleListFilter):
    """The sites in service a source marks closed or suspended, or no longer lists: those the
    import runs page proposes for retirement."""

    title = "proposed for retirement"
    parameter_name = "proposed"

    def lookups(self, request, model_admin):
        return [("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(
            pk__in=SiteSource.objects.proposing_retirement().values("site_id"))


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ["name", "tier", "country", "kind", "institute", "retired_on"]
    list_filter = [ProposedForRetirement, "tier", "kind", "experiment_sites__experiment",
                   "country", ("retired_on", admin.EmptyFieldListFilter)]
    search_fields = ["name", "institute", "country", "experiment_sites__name"]
    filter_horizontal = ["federations"]
    inlines = [SiteSourceInline, ExperimentSiteInline, SiteContactInline,
               CapabilityValueInline, SiteExceptionInline, AssessmentInline]
    actions = ["retire_sites"]

    @admin.action(description="Retire the selected sites", permissions=["change"])
    def retire_sites(self, request, queryset) -> None:
        """Sites gone from CRIC stay until a WG member retires them: they keep their names,
        reports, exceptions and history, with the day they were retired."""
        today = timezone.localdate()
        sites = list(queryset.filter(retired_on__isnull=True))
        for site in sites:  # one at a time, so that the history records each
            site.retired_on = today
            site._change_reason = f"Retired by {request.user.get_username()}"
            site.save()
        self.message_user(request, f"Retired {len(sites)} site{'s' if len(sites) != 1 else ''}"
                                   f" on {today}.", messages.SUCCESS)


@admin.register(ExperimentSite)
class ExperimentSiteAdmin(SimpleHistoryAdmin):
    list_display = ["name", "experiment", "site", "tier"]
    list_filter = ["experiment", "tier"]
    list_select_related = ["experiment", "site"]
    search_fields = ["name", "site__name"]
    autocomplete_fields = ["site"]


@admin.register(CapabilityValue)
class CapabilityValueAdmin(SimpleHistoryAdmin):
    list_display = ["site", "capability", "value", "source", "reported_by", "reported_at"]
    list_filter = ["capability", "source"]
    list_select_related = ["site", "capability", "reported_by"]
    search_fields = ["site__name", "value"]
    autocomplete_fields = ["site", "reported_by"]
    date_hierarchy = "reported_at"


@admin.register(SiteException)
class SiteExceptionAdmin(SimpleHistoryAdmin):
    list_display = ["site", "experiment", "kind", "granted_by", "granted_on", "expires_on",
                    "revoked_on"]
    list_filter = ["experiment", "kind", "expires_on"]
    list_select_related = ["site", "experiment", "kind"]
    search_fields = ["site__name", "reason", "granted_by"]
    autocomplete_fields = ["site"]


@admin.register(SiteMigration)
class SiteMigrationAdmin(SimpleHistoryAdmin):
    list_display = ["site", "migration", "completed_step", "updated_on"]
    list_filter = ["migration", "completed_step"]
    list_select_related = ["site", "migration__experiment", "completed_step"]
    search_fields = ["site__name"]
    autocomplete_fields = ["site"]


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    """Derived by the policy engine: read-only here; change the inputs instead."""

    list_display = ["site", "experiment", "scenario", "allows_production", "allows_user_jobs",
                    "computed_at"]
    list_filter = ["experiment", "scenario", "scenario__compliance"]
    list_select_related = ["site", "experiment", "scenario"]
    search_fields = ["site__name", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AssessmentChange)
class AssessmentChangeAdmin(admin.ModelAdmin):
    """Written by the recomputation: read-only."""

    list_display = ["changed_at", "site", "experiment", "old_scenario", "new_scenario"]
    list_filter = ["experiment", "new_scenario"]
    list_select_related = ["site", "experiment", "old_scenario", "new_scenario"]
    search_fields = ["site__name", "reason"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SiteToken)
class SiteTokenAdmin(admin.ModelAdmin):
    """Tokens are made on a site's “API tokens” page, the only place that shows the key."""

    list_display = ["site", "name", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["site__name", "name", "created_by__username"]
    # Revoking is for good: the admin's action revokes, nothing un-revokes.
    readonly_fields = ["site", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["site", "name", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            token.revoke()
