from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
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


class PolicyRuleInline(admin.TabularInline):
    model = PolicyRule
    fields = ["position", "summary", "site_kind", "scenario", "allows_production",
              "allows_user_jobs"]
    show_change_link = True
    extra = 0


@admin.register(Experiment)
class ExperimentAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "framework", "position"]
    list_editable = ["position"]
    search_fields = ["name", "slug", "framework"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PolicyRuleInline]


@admin.register(Scenario)
class ScenarioAdmin(SimpleHistoryAdmin):
    list_display = ["name", "compliance", "payload_isolated", "position"]
    list_filter = ["compliance", "payload_isolated"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CapabilityDefinition)
class CapabilityDefinitionAdmin(SimpleHistoryAdmin):
    list_display = ["name", "key", "kind", "choices", "position"]
    list_filter = ["kind"]
    search_fields = ["name", "key", "help_text"]


class RuleConditionInline(admin.TabularInline):
    model = RuleCondition
    extra = 1


@admin.register(PolicyRule)
class PolicyRuleAdmin(SimpleHistoryAdmin):
    list_display = ["experiment", "position", "summary", "site_kind", "scenario",
                    "allows_production", "allows_user_jobs"]
    list_display_links = ["summary"]
    list_filter = ["experiment", "scenario", "site_kind"]
    list_select_related = ["experiment", "scenario"]
    search_fields = ["summary"]
    inlines = [RuleConditionInline]


@admin.register(ExceptionKind)
class ExceptionKindAdmin(SimpleHistoryAdmin):
    list_display = ["name", "experiment", "scenario", "requires_expiry", "max_months",
                    "applies_to"]
    list_filter = ["experiment", "applies_to"]
    list_select_related = ["experiment", "scenario"]
    search_fields = ["name", "description"]


class MigrationStepInline(admin.TabularInline):
    model = MigrationStep
    extra = 0
    filter_horizontal = ["done_in"]


@admin.register(LHCPeriod)
class LHCPeriodAdmin(SimpleHistoryAdmin):
    list_display = ["name", "starts_on", "ends_on"]


@admin.register(Migration)
class MigrationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "experiment", "slug"]
    list_filter = ["experiment"]
    list_select_related = ["experiment"]
    search_fields = ["name", "description"]
    inlines = [MigrationStepInline]
