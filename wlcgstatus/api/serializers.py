"""What the API shows of each thing, and the one thing it accepts: a site's capability values,
checked by the capability form's own rules."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from experiments.capabilities import OPERATOR_LABELS
from experiments.models import (
    CapabilityDefinition,
    Compliance,
    ExceptionKind,
    Experiment,
    PolicyRule,
    RuleCondition,
    Scenario,
)
from sites.forms import CapabilityForm
from sites.models import (
    EXPIRY_WARNING_DAYS,
    Assessment,
    CapabilityValue,
    ExceptionState,
    ExperimentSite,
    Site,
    SiteException,
)
from sites.tables import scenario_field
from sites.updates import current_values


def slug(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="slug", read_only=True, **kwargs)


class PageField(serializers.Field):
    """The object's page on the dashboard, as an absolute URL."""

    def __init__(self, source: str = "*", **kwargs):
        super().__init__(source=source, read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return self.context["request"].build_absolute_uri(value.get_absolute_url())


extend_schema_field({"type": "string", "format": "uri"})(PageField)


@extend_schema_field({"type": "string", "nullable": True})
class PersonField(serializers.Field):
    """Who reported a value, as the site page names them."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, user) -> str:
        return user.get_full_name() or user.get_username()


# --- reference data -------------------------------------------------------------------------

class ScenarioSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:scenario-detail",
                                               lookup_field="slug")

    class Meta:
        model = Scenario
        fields = ["url", "slug", "name", "short_name", "colour", "compliance", "description",
                  "payload_isolated", "pilot_credentials", "payload_credentials", "position"]


class RuleConditionSerializer(serializers.ModelSerializer):
    capability = serializers.SlugRelatedField(slug_field="key", read_only=True)
    operator = serializers.ChoiceField(choices=list(OPERATOR_LABELS.items()), read_only=True)

    class Meta:
        model = RuleCondition
        fields = ["capability", "operator", "value"]


class PolicyRuleSerializer(serializers.ModelSerializer):
    scenario = slug()
    conditions = RuleConditionSerializer(many=True, read_only=True)

    class Meta:
        model = PolicyRule
        fields = ["position", "summary", "site_kind", "conditions", "scenario",
                  "pilot_credentials", "payload_credentials", "allows_production",
                  "allows_user_jobs"]


class ExceptionKindSerializer(serializers.ModelSerializer):
    scenario = slug()

    class Meta:
        model = ExceptionKind
        fields = ["slug", "name", "description", "scenario", "pilot_credentials",
                  "payload_credentials", "allows_production", "allows_user_jobs",
                  "requires_expiry", "max_months", "applies_to"]


class ExperimentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:experiment-detail",
                                               lookup_field="slug")
    page = PageField()
    rules = PolicyRuleSerializer(many=True, read_only=True,
                                 help_text="The policy: the first rule whose conditions hold "
                                           "decides.")
    exception_kinds = ExceptionKindSerializer(many=True, read_only=True)

    class Meta:
        model = Experiment
        fields = ["url", "page", "slug", "name", "framework", "credential_model", "plan",
                  "position", "rules", "exception_kinds"]


# --- sites ----------------------------------------------------------------------------------

class ExceptionRefSerializer(serializers.ModelSerializer):
    kind = slug()

    class Meta:
        model = SiteException
        fields = ["id", "kind", "expires_on"]


class SiteAssessmentBriefSerializer(serializers.ModelSerializer):
    experiment = slug()
    scenario = slug(allow_null=True)
    compliance = serializers.ChoiceField(
        choices=Compliance.choices, read_only=True,
        help_text="The scenario's compliance class; unknown where the scenario is (the site has "
                  "not reported what the policy tests, or no rule applies).")

    class Meta:
        model = Assessment
        fields = ["experiment", "scenario", "compliance"]


class SiteAssessmentSerializer(SiteAssessmentBriefSerializer):
    """The policy engine's stored result for one experiment the site serves."""

    stale = serializers.BooleanField(
        read_only=True, help_text=f"It rests on capabilities no one has confirmed for "
                                  f"{settings.CAPABILITY_CONFIRM_DAYS} days: the class is kept, "
                                  "flagged.")

    rule = serializers.IntegerField(source="rule.position", read_only=True, allow_null=True,
                                    help_text="The position of the rule that decided.")
    exception = ExceptionRefSerializer(read_only=True, allow_null=True,
                                       help_text="The active exception that overrides the rule.")
    standing_exception = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True,
        help_text="The standing exception (a kind's slug) that overrides the rule.")
    lapsed_exception = ExceptionRefSerializer(
        read_only=True, allow_null=True, help_text="An expired exception that no longer applies.")
    decided_by = serializers.CharField(
        read_only=True, help_text="The revision of the experiment's policy and what in it "
                                  "decided: “CMS policy r7, rule 2”; empty where computed "
                                  "before revisions were kept.")

    class Meta:
        model = Assessment
        fields = ["experiment", "scenario", "compliance", "stale", "pilot_credentials",
                  "payload_credentials", "allows_production", "allows_user_jobs", "reason",
                  "rule", "exception", "standing_exception", "lapsed_exception", "decided_by",
                  "computed_at"]


class AssessmentSerializer(SiteAssessmentSerializer):
    site = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta(SiteAssessmentSerializer.Meta):
        fields = ["site", *SiteAssessmentSerializer.Meta.fields]


class CapabilityValueSerializer(serializers.ModelSerializer):
    capability = serializers.SlugRelatedField(slug_field="key", read_only=True)
    name = serializers.CharField(source="capability.name", read_only=True)
    reported_by = PersonField()
    illustrative = serializers.BooleanField(read_only=True,
                                            help_text="Invented for the demo.")

    class Meta:
        model = CapabilityValue
        fields = ["capability", "name", "value", "reported_by", "source", "reported_at",
                  "illustrative"]


class ExperimentNameSerializer(serializers.ModelSerializer):
    experiment = slug()

    class Meta:
        model = ExperimentSite
        fields = ["experiment", "name", "tier"]


class SiteSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:site-detail", lookup_field="name")
    page = PageField()
    federations = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    experiments = serializers.SerializerMethodField(
        help_text="The experiments the site serves, by slug.")
    assessments = SiteAssessmentBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Site
        fields = ["url", "page", "name", "tier", "country", "country_code", "kind", "institute",
                  "federations", "experiments", "assessments"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_experiments(self, site: Site) -> list[str]:
        return list(dict.fromkeys(name.experiment.slug for name in site.experiment_sites.all()))


class PastSiteSerializer(SiteSerializer):
    """A site of the list as of a past day: the experiments it served then and what each
    made of it, read from the scenario annotations of the list's query (api/views.py)."""

    def get_experiments(self, site: Site) -> list[str]:
        return [assessment["experiment"] for assessment in self.get_assessments(site)]

    def get_assessments(self, site: Site) -> list[dict]:
        scenarios = self.context["scenarios"]
        shown = []
        for experiment in self.context["experiments"]:
            scenario_id = getattr(site, scenario_field(experiment))
            if scenario_id is None:
                continue  # not served then
            scenario = scenarios.get(scenario_id)
            shown.append({"experiment": experiment.slug,
                          "scenario": scenario.slug if scenario else None,
                          "compliance": scenario.compliance if scenario else Compliance.UNKNOWN})
        return shown

    def get_fields(self):
        fields = super().get_fields()
        fields["assessments"] = serializers.SerializerMethodField()
        return fields


class SiteDetailSerializer(SiteSerializer):
    experiment_names = ExperimentNameSerializer(
        source="experiment_sites", many=True, read_only=True,
        help_text="The names the experiments use for (parts of) the site.")
    capabilities = CapabilityValueSerializer(
        source="capability_values", many=True, read_only=True,
        help_text="What the site reported, by whom and when.")
    assessments = SiteAssessmentSerializer(many=True, read_only=True)

    class Meta(SiteSerializer.Meta):
        fields = [*SiteSerializer.Meta.fields, "retired_on", "experiment_names", "capabilities"]


class ExceptionSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="name", read_only=True)
    experiment = slug()
    kind = slug()
    kind_name = serializers.CharField(source="kind.name", read_only=True)
    scenario = serializers.SlugRelatedField(
        source="kind.scenario", slug_field="slug", read_only=True,
        help_text="The scenario that applies while the exception is active.")
    state = serializers.ChoiceField(choices=ExceptionState.choices, read_only=True,
                                    help_text="Where the exception stands today.")
    active = serializers.SerializerMethodField(
        help_text="Granted, not expired and not revoked today (state is “active”).")
    standing = serializers.SerializerMethodField(
        help_text="A standing exception: it applies by itself to every site of a kind (e.g. "
                  "HPC), with no grant (id, granted_by and the dates are null) and no expiry.")

    class Meta:
        model = SiteException
        fields = ["id", "site", "experiment", "kind", "kind_name", "scenario", "reason",
                  "granted_by", "granted_on", "expires_on", "revoked_on", "state", "active",
                  "standing"]

    def get_active(self, exception: SiteException) -> bool:
        return exception.state == ExceptionState.ACTIVE

    def get_standing(self, exception: SiteException) -> bool:
        return False

    def to_representation(self, instance):
        if isinstance(instance, Assessment):  # a site a standing exception applies to
            kind = instance.standing_kind
            return {
                "id": None, "site": instance.site.name, "experiment": instance.experiment.slug,
                "kind": kind.slug, "kind_name": kind.name, "scenario": kind.scenario.slug,
                "reason": kind.description, "granted_by": None, "granted_on": None,
                "expires_on": None, "revoked_on": None, "state": ExceptionState.ACTIVE.value,
                "active": True, "standing": True,
            }
        return super().to_representation(instance)


# --- migrations and the summary, made from wlcgstatus.summary's figures ---------------------

class StepProgressSerializer(serializers.Serializer):
    position = serializers.IntegerField(source="step.position")
    name = serializers.CharField(source="step.name")
    target_date = serializers.DateField(
        source="step.due_on", allow_null=True,
        help_text="The target day: the step's own, or the end of its LHC period.")
    target_period = serializers.CharField(
        source="step.target_period.name", allow_null=True, default=None,
        help_text="The LHC period the target names (e.g. LS2), if it names one.")
    derived = serializers.BooleanField(
        source="step.derived", help_text="Done where a site reports what the step's condition "
                                         "asks or is assessed in one of its scenarios (true), "
                                         "or recorded by hand by the WG (false).")
    sites_done = serializers.IntegerField(source="done",
                                          help_text="Sites that have completed this step.")
    share = serializers.FloatField(help_text="Percent of the sites taking part.")
    overdue = serializers.BooleanField(help_text="Past its target date and not done by all.")


class MigrationSerializer(serializers.Serializer):
    experiment = serializers.CharField(source="migration.experiment.slug")
    slug = serializers.CharField(source="migration.slug")
    name = serializers.CharField(source="migration.name")
    description = serializers.CharField(source="migration.description")
    page = PageField(source="migration")
    sites = serializers.IntegerField(source="total", help_text="Sites taking part.")
    steps = StepProgressSerializer(many=True)


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The scenario's slug, the compliance class, or the "
                                          "exception state (active, expiring, lapsed).")
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Sites.")
    share = serializers.IntegerField(help_text="Whole percent of the experiment's sites; an "
                                               "experiment's shares add up to 100.")
    sites = serializers.SerializerMethodField(help_text="These sites, from the sites list.")

    def get_sites(self, figure) -> str:
        return api_sites_url(self.context["request"], figure.url)


class SummarySerializer(serializers.Serializer):
    experiment = serializers.CharField(source="experiment.slug")
    name = serializers.CharField(source="experiment.name")
    total = serializers.IntegerField(help_text="Sites the experiment has assessed.")
    sites = serializers.SerializerMethodField(help_text="These sites, from the sites list.")
    scenarios = FigureSerializer(many=True, help_text="Sites per scenario, where there are any.")
    compliance = FigureSerializer(many=True, help_text="Sites per compliance class.")
    stale = FigureSerializer(help_text=f"Sites whose capabilities no one has confirmed for "
                                       f"{settings.CAPABILITY_CONFIRM_DAYS} days.")
    exceptions = FigureSerializer(
        many=True, help_text=f"Sites with an active exception, one expiring within "
                             f"{EXPIRY_WARNING_DAYS} days, or one that expired while still "
                             "relied on.")

    def get_sites(self, summary) -> str:
        return api_sites_url(self.context["request"], summary.url)


def api_sites_url(request, table_url: str) -> str:
    """The API's sites list with the filters of a sites-table link: the filters are the same."""
    query = table_url.partition("?")[2]
    return request.build_absolute_uri(reverse("api:site-list") + (f"?{query}" if query else ""))


# --- writing a site's capabilities ----------------------------------------------------------

class CapabilityValuesField(serializers.DictField):
    """Capability key → value; its schema lists the capability definitions (schema.py)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(allow_blank=True, max_length=100),
                         allow_empty=False, **kwargs)


class CapabilityReportSerializer(serializers.Serializer):
    """What a site reports. The values are checked as the capability form checks them, against
    the site's values as they will be after the change (a runtime's version needs a runtime)."""

    values = CapabilityValuesField()
    reporter = serializers.ChoiceField(
        choices=[(CapabilityValue.Source.API.value, "a person or the site's own tooling"),
                 (CapabilityValue.Source.PROBE.value, "the capability probe")],
        default=CapabilityValue.Source.API.value,
        help_text="Recorded as the values' source.")

    def validate_values(self, values: dict[str, str]) -> dict[str, str]:
        site = self.context["site"]
        definitions = {d.key: d for d in CapabilityDefinition.objects.select_related("only_with")}
        errors = {key: [f"“{key}” is not a capability; the capabilities are "
                        f"{', '.join(sorted(definitions))}."]
                  for key in values if key not in definitions}
        data = {**current_values(site), **values}
        form = CapabilityForm(data, definitions=list(definitions.values()))
        del form.fields["values_token"]  # the form's guard against concurrent edits; not used here
        if not form.is_valid():
            for key, problems in form.errors.as_data().items():
                errors[key] = [message for problem in problems
                               for message in _explained(problem, definitions.get(key),
                                                         data.get(key, ""))]
        if errors:
            raise serializers.ValidationError(errors)
        return {key: form.cleaned_data[key] for key in values}


def _explained(problem: ValidationError, definition: CapabilityDefinition | None,
               raw: str) -> list[str]:
    """The form's messages, except that a value outside a choice is told what the choices
    are, in the words of the capability's own validation."""
    if problem.code == "invalid_choice" and definition is not None:
        try:
            definition.validate_value(raw)
        except ValidationError as explained:
            return explained.messages
    return problem.messages


class CapabilityReportResultSerializer(serializers.Serializer):
    site = serializers.CharField()
    changed = serializers.ListField(child=serializers.CharField(),
                                    help_text="The capabilities whose value changed.")
    capabilities = CapabilityValueSerializer(many=True,
                                             help_text="All the site's values, after the change.")
    assessments = SiteAssessmentSerializer(many=True, help_text="The site's assessments, "
                                                                "recomputed.")
