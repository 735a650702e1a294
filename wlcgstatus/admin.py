from django.contrib import admin

from .models import MigrationCount, Report, ScenarioCount, SiteToken


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["as_of", "since", "format", "status", "progress", "requested_by",
                    "requested_at"]
    list_filter = ["status", "format"]
    readonly_fields = ["status", "progress", "step", "error", "file", "requested_at",
                       "finished_at"]


@admin.register(ScenarioCount)
class ScenarioCountAdmin(admin.ModelAdmin):
    list_display = ["day", "experiment", "scenario", "sites"]
    list_filter = ["experiment", "scenario"]
    date_hierarchy = "day"


@admin.register(MigrationCount)
class MigrationCountAdmin(admin.ModelAdmin):
    list_display = ["day", "migration", "step", "sites"]
    list_filter = ["migration"]
    date_hierarchy = "day"


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
