from django.contrib import admin

from .models import MigrationCount, Report, ScenarioCount


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
