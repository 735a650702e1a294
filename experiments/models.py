"""Reference data owned by the WG: experiments, scenarios, capability definitions, the
experiments' policy rules and exception kinds, and migrations. Nothing here knows of sites.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, ExpressionWrapper, OuterRef
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .capabilities import (
    OPERATOR_LABELS,
    CapabilityKind,
    Operator,
    check_condition,
    condition_holds,
    parse_value,
    split_list,
)


class NaturalKeyManager(models.Manager):
    """Finds rows by their model's `natural_key_fields`, so fixtures name rows instead of ids."""

    def get_by_natural_key(self, *key):
        return self.get(**dict(zip(self.model.natural_key_fields, key, strict=True)))


class NaturalKeyModel(models.Model):
    natural_key_fields: tuple[str, ...] = ()

    objects = NaturalKeyManager()

    class Meta:
        abstract = True

    def natural_key(self) -> tuple:
        key = []
        for path in self.natural_key_fields:
            value = self
            for attribute in path.split("__"):
                value = getattr(value, attribute)
            key.append(value)
        return tuple(key)


class Compliance(models.TextChoices):
    """A site's compliance class for an experiment, best first. The WG rates each scenario in
    one of the first four; a site whose scenario is unknown (it has not reported what the
    policy tests, or no rule applies) is Unknown, which is none of them."""

    TARGET = "target", "Target"
    ACCEPTABLE = "acceptable", "Acceptable"
    INTERIM = "interim", "Interim"
    NON_COMPLIANT = "non_compliant", "Non-compliant"
    UNKNOWN = "unknown", "Unknown"

    @property
    def colour(self) -> str:
        return COMPLIANCE_COLOURS[self]


SCENARIO_RATINGS = [(value, label) for value, label in Compliance.choices
                    if value != Compliance.UNKNOWN]

# One colour per compliance class, on every page and chart; scenarios carry their own.
COMPLIANCE_COLOURS = {
    Compliance.TARGET: "#1a7f37",
    Compliance.ACCEPTABLE: "#2f81f7",
    Compliance.INTERIM: "#d4a72c",
    Compliance.NON_COMPLIANT: "#cf222e",
    Compliance.UNKNOWN: "#8c959f",
}
ABSENT_VALUES = {"", "no", "none"}


class SiteKind(models.TextChoices):
    GRID = "grid", "Grid"
    HPC = "hpc", "HPC"
    CLOUD = "cloud", "Cloud"


class Experiment(NaturalKeyModel):
    """An LHC experiment (VO), its workload framework and its credential model."""

    slug = models.SlugField(unique=True, help_text="The VO name, e.g. “cms”.")
    name = models.CharField(max_length=50, unique=True)
    framework = models.CharField(max_length=100, help_text="Workload management framework.")
    credential_model = models.TextField(help_text="Which credentials pilots and payloads hold.")
    plan = models.TextField(help_text="The experiment's plan, in Markdown, as the WG reports it.")
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()
    natural_key_fields = ("slug",)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("experiment_detail", args=[self.slug])


class Scenario(NaturalKeyModel):
    """A WG isolation scenario: what the pilot and the payload hold, and how compliant it is."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, help_text="For badges and chart legends.")
    colour = models.CharField(
        max_length=7, validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use #rrggbb.")],
        help_text="Its colour on every page and chart, as #rrggbb.",
    )
    description = models.TextField()
    payload_isolated = models.BooleanField(
        help_text="Whether user payloads are isolated from the pilot and its credentials."
    )
    pilot_credentials = models.CharField(max_length=200, help_text="What the pilot holds.")
    payload_credentials = models.CharField(max_length=200, help_text="What the payload can use.")
    compliance = models.CharField(max_length=20, choices=SCENARIO_RATINGS)
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()
    natural_key_fields = ("slug",)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class CapabilityDefinition(NaturalKeyModel):
    """Something a site can provide, which its contact reports and policy rules test."""

    key = models.SlugField(unique=True, help_text="Used in rules and in the API, e.g. “cvmfs”.")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=[
        (CapabilityKind.YES_NO, "Yes or no"),
        (CapabilityKind.CHOICE, "Choice"),
        (CapabilityKind.VERSION, "Version"),
    ])
    choices = models.JSONField(
        default=list, blank=True, help_text="The allowed values of a choice, as a JSON list."
    )
    help_text = models.TextField(blank=True, help_text="Shown to site contacts on the form.")
    only_with = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Reported only where this other capability is present (not “no” or "
                  "“none”), e.g. a runtime's version only where there is a runtime.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()
    natural_key_fields = ("key",)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == CapabilityKind.CHOICE:
            if (not isinstance(self.choices, list) or len(self.choices) < 2
                    or not all(isinstance(c, str) and c for c in self.choices)):
                raise ValidationError({"choices": "A choice needs a list of at least two values."})
        elif self.choices:
            raise ValidationError({"choices": "Only a choice has a list of values."})

    def is_absence(self, raw: str) -> bool:
        """Whether a reported value says the capability is not there."""
        return raw.strip().lower() in ABSENT_VALUES

    def validate_value(self, raw: str) -> None:
        """Raise ValidationError unless `raw` is a value this capability can take."""
        try:
            parse_value(self.kind, raw, self.choices)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None


class PolicyRule(NaturalKeyModel):
    """One rule of an experiment's policy: where all its conditions hold (and the site is of
    its kind, if it names one), the experiment runs there under its scenario. Rules are tried
    in order and the first that holds decides."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(help_text="Rules are tried from 1 upwards.")
    summary = models.CharField(max_length=200, help_text="What the rule says, in a few words.")
    site_kind = models.CharField(
        max_length=10, choices=SiteKind.choices, blank=True,
        help_text="Only for sites of this kind; blank for every site.",
    )
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="rules")
    pilot_credentials = models.CharField(max_length=200, blank=True)
    payload_credentials = models.CharField(max_length=200, blank=True)
    allows_production = models.BooleanField("production jobs", default=True)
    allows_user_jobs = models.BooleanField("user jobs", default=True)

    history = HistoricalRecords()
    natural_key_fields = ("experiment__slug", "position")

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "position"], name="unique_rule_position",
                violation_error_message="This experiment already has a rule at this position.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment} rule {self.position}: {self.summary}"


class RuleCondition(NaturalKeyModel):
    """A test of one capability value: “container runtime is one of singularity, apptainer”."""

    rule = models.ForeignKey(PolicyRule, on_delete=models.CASCADE, related_name="conditions")
    capability = models.ForeignKey(
        CapabilityDefinition, on_delete=models.PROTECT, related_name="conditions"
    )
    operator = models.CharField(max_length=10, choices=list(OPERATOR_LABELS.items()),
                                default=Operator.IS)
    value = models.CharField(
        max_length=200, help_text="For “is one of”, separate the values with commas."
    )

    history = HistoricalRecords()
    natural_key_fields = ("rule__experiment__slug", "rule__position", "capability__key", "operator")

    class Meta:
        ordering = ["rule", "id"]

    def __str__(self) -> str:
        return f"{self.capability} {self.get_operator_display()} {self.display_value}"

    @property
    def display_value(self) -> str:
        if self.operator == Operator.ONE_OF:
            return " or ".join(split_list(self.value))
        return self.value

    def clean(self) -> None:
        if self.capability_id is None:
            return  # the form has said already that the capability is missing or unknown
        try:
            check_condition(self.capability.kind, self.operator, self.value,
                            self.capability.choices)
        except ValueError as error:
            raise ValidationError({"value": str(error)}) from None


class ExceptionKindQuerySet(models.QuerySet):
    def standing(self) -> ExceptionKindQuerySet:
        return self.exclude(applies_to="")


class ExceptionKind(NaturalKeyModel):
    """A kind of deviation from an experiment's policy, and what applies while it is active.
    Most are granted site by site, often for a limited time: e.g. CMS's short-term exception
    for a site deploying Singularity. A standing exception applies by itself to every site of
    a kind, with no grant and no expiry, whatever the rules say: e.g. CMS's HPC systems, used
    for production workloads only."""

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="exception_kinds"
    )
    slug = models.SlugField()
    name = models.CharField(max_length=200)
    description = models.TextField()
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="+")
    pilot_credentials = models.CharField(max_length=200, blank=True)
    payload_credentials = models.CharField(max_length=200, blank=True)
    allows_production = models.BooleanField("production jobs", default=True)
    allows_user_jobs = models.BooleanField("user jobs", default=True)
    requires_expiry = models.BooleanField(
        default=True, help_text="A temporary measure: every grant must say when it ends."
    )
    max_months = models.PositiveSmallIntegerField(
        "longest grant (months)", null=True, blank=True,
        help_text="A grant or renewal may last at most this many months from its day; blank "
                  "for no limit.",
    )
    applies_to = models.CharField(
        "standing for", max_length=10, choices=SiteKind.choices, blank=True,
        help_text="Makes it a standing exception: it applies by itself to every site of this "
                  "kind, with no grant and no expiry. Blank: granted site by site.",
    )

    history = HistoricalRecords()
    objects = NaturalKeyManager.from_queryset(ExceptionKindQuerySet)()
    natural_key_fields = ("experiment__slug", "slug")

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "slug"], name="unique_exception_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment}: {self.name}"

    def clean(self) -> None:
        if self.applies_to and (self.requires_expiry or self.max_months):
            raise ValidationError({"applies_to": "A standing exception has no expiry: clear "
                                                 "“requires expiry” and the longest grant."})

    @property
    def standing(self) -> bool:
        return bool(self.applies_to)

    def latest_expiry(self, start: datetime.date) -> datetime.date | None:
        """The last day a grant or renewal made on `start` may run to; None: no limit."""
        if self.max_months is None:
            return None
        return start + relativedelta(months=self.max_months)


class PolicyRevision(models.Model):
    """A numbered state of an experiment's policy (its plan, rules and exception kinds, with
    their scenarios), and who made it and why: what every assessment names as what decided it
    (“CMS policy r7, rule 2”). Made by each save in the policy workbench, and where the policy
    was changed elsewhere (the admin, a fixture), by the next recomputation that finds it
    changed. Never edited."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="revisions")
    number = models.PositiveIntegerField()
    policy = models.JSONField(help_text="The policy as it became (experiments.revisions).")
    reason = models.TextField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    made_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["experiment", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "number"],
                                    name="unique_policy_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment} policy r{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("policy:revision", args=[self.experiment.slug, self.number])


class LHCPeriod(NaturalKeyModel):
    """A period of the LHC schedule (a run or a long shutdown), which migration targets may
    name: the seed's “in the course of LS2”."""

    name = models.CharField(max_length=20, unique=True, help_text="e.g. “LS2”, “Run 3”.")
    starts_on = models.DateField()
    ends_on = models.DateField()

    history = HistoricalRecords()
    natural_key_fields = ("name",)

    class Meta:
        ordering = ["starts_on"]
        verbose_name = "LHC period"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "A period cannot end before it starts."})


class MigrationQuerySet(models.QuerySet):
    def with_derived(self) -> MigrationQuerySet:
        """Each migration's `derived` read in its own query, for a list that shows no steps:
        it has steps, and none that only a WG member records."""
        steps = MigrationStep.objects.filter(migration=OuterRef("pk"))
        by_hand = steps.filter(capability=None, done_in=None)
        return self.annotate(steps_all_derived=ExpressionWrapper(
            Exists(steps) & ~Exists(by_hand), output_field=models.BooleanField()))


class Migration(NaturalKeyModel):
    """A tracked rollout, e.g. ALICE's move from AliEn to JAliEn, made of ordered steps."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="migrations")
    slug = models.SlugField()
    name = models.CharField(max_length=200)
    description = models.TextField()

    history = HistoricalRecords()
    objects = NaturalKeyManager.from_queryset(MigrationQuerySet)()
    natural_key_fields = ("experiment__slug", "slug")

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "slug"], name="unique_migration_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment}: {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("migration_detail", args=[self.experiment.slug, self.slug])

    @property
    def derived(self) -> bool:
        """Whether each site's progress follows its reports and assessments: every step says
        when it is done. Otherwise WG members record it by hand."""
        if "steps_all_derived" in self.__dict__:  # read by the query (with_derived)
            return self.steps_all_derived
        steps = list(self.steps.all())
        return bool(steps) and all(step.derived for step in steps)


class MigrationStep(NaturalKeyModel):
    """A step of a migration. It is done at a site where the site reports what its condition
    asks, or is assessed in one of `done_in` (derived with every recomputation); with neither,
    where a WG member recorded it by hand (e.g. “AliEn retired”, which no report can show)."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    target_date = models.DateField(null=True, blank=True)
    target_period = models.ForeignKey(
        LHCPeriod, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="A target named by LHC period (due by its end), instead of a day.")
    done_in = models.ManyToManyField(
        Scenario, blank=True, related_name="+",
        help_text="Done at a site assessed in one of these scenarios (derived).")
    capability = models.ForeignKey(
        CapabilityDefinition, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text="Done at a site whose reported value of this capability "
                                    "meets the condition (derived). With no scenarios either: "
                                    "recorded by hand.")
    operator = models.CharField(max_length=10, choices=list(OPERATOR_LABELS.items()),
                                blank=True)
    value = models.CharField(max_length=200, blank=True,
                             help_text="For “is one of”, separate the values with commas.")

    history = HistoricalRecords()
    natural_key_fields = ("migration__experiment__slug", "migration__slug", "position")

    class Meta:
        ordering = ["migration", "position"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "position"], name="unique_step_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    def clean(self) -> None:
        if self.target_date and self.target_period_id:
            raise ValidationError({"target_period": "Give a target day or a period, not both."})
        if self.capability_id:
            try:
                check_condition(self.capability.kind, self.operator, self.value,
                                self.capability.choices)
            except ValueError as error:
                raise ValidationError({"value": str(error)}) from None

    @property
    def derived(self) -> bool:
        return bool(self.capability_id or self.done_in_ids())

    def done_in_ids(self) -> set[int]:
        """The scenarios it is done in: those a draft gives it (`draft_done_in`, the policy
        workbench's dry run), else its stored ones."""
        if hasattr(self, "draft_done_in"):
            return self.draft_done_in
        return {scenario.id for scenario in self.done_in.all()}

    def reached(self, reported: dict[str, str], scenario_id: int | None) -> bool:
        """Whether a site with these reported values, assessed in this scenario, has done
        this (derived) step."""
        if self.capability_id and condition_holds(
                self.capability.kind, self.operator, self.value,
                reported.get(self.capability.key), self.capability.choices):
            return True
        return scenario_id in self.done_in_ids()

    def describe(self) -> str:
        """How it is done, for the migration page."""
        ways = []
        if self.capability_id:
            shown = (" or ".join(split_list(self.value)) if self.operator == Operator.ONE_OF
                     else self.value)
            ways.append(f"reports {self.capability.name} "
                        f"{OPERATOR_LABELS[Operator(self.operator)]} {shown}")
        if self.done_in.all():
            ways.append("is assessed " + " or ".join(s.short_name for s in self.done_in.all()))
        return ("done where a site " + ", or ".join(ways) + " (derived)" if ways
                else "recorded by hand by the WG")

    @property
    def due_on(self) -> datetime.date | None:
        """The last day of the target: its day, or the end of its LHC period."""
        return self.target_period.ends_on if self.target_period else self.target_date

    @property
    def target_label(self) -> str:
        """The target as the WG states it: “LS2” or “30 Jun 2022”; "" without one."""
        if self.target_period:
            return self.target_period.name
        return f"{self.target_date:%-d %b %Y}" if self.target_date else ""
