"""Data owned by sites: the sites, the names each experiment knows them by, what they report,
the exceptions granted to them, their migration progress, and the derived assessments."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from experiments.models import (
    CapabilityDefinition,
    Compliance,
    ExceptionKind,
    Experiment,
    Migration,
    MigrationStep,
    NaturalKeyManager,
    NaturalKeyModel,
    PolicyRevision,
    PolicyRule,
    Scenario,
    SiteKind,
)

TIER_CHOICES = [(tier, f"Tier {tier}") for tier in range(4)]


class Federation(NaturalKeyModel):
    """A WLCG MoU federation, e.g. “DE-KIT”."""

    name = models.CharField(max_length=100, unique=True)

    natural_key_fields = ("name",)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def stale_before(now: datetime.datetime | None = None) -> datetime.datetime:
    """Capabilities last confirmed before this are stale: their assessments keep their class,
    flagged as resting on old reports."""
    return (now or timezone.now()) - datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS)


class SiteQuerySet(models.QuerySet):
    def confirmed_before(self, when: datetime.datetime) -> SiteQuerySet:
        """Sites that reported, but whose capabilities no one has confirmed since `when`
        (every save confirms all of a site's values)."""
        last = (CapabilityValue.objects.order_by().values("site_id")
                .annotate(last=models.Max("reported_at")).filter(last__lt=when))
        return self.filter(pk__in=last.values("site_id"))

    def stale(self, now: datetime.datetime | None = None) -> SiteQuerySet:
        return self.confirmed_before(stale_before(now))


class Site(NaturalKeyModel):
    """A WLCG resource centre, under its GOCDB/CRIC name."""

    name = models.CharField(max_length=100, unique=True, help_text="The WLCG (CRIC) name.")
    tier = models.PositiveSmallIntegerField(
        choices=TIER_CHOICES, null=True, blank=True,
        help_text="The WLCG tier; blank where WLCG gives none.",
    )
    country = models.CharField(max_length=100, blank=True, db_index=True)  # a filter's choices
    country_code = models.CharField(max_length=2, blank=True)
    federations = models.ManyToManyField(Federation, blank=True, related_name="sites")
    kind = models.CharField(max_length=10, choices=SiteKind.choices, default=SiteKind.GRID)
    institute = models.CharField(max_length=200, blank=True)
    contacts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="contact_for_sites",
        through="SiteContact",
        help_text="The people who report this site's capabilities.",
    )
    retired_on = models.DateField(
        null=True, blank=True,
        help_text="The day a WG member retired the site, e.g. once it left CRIC; it keeps "
                  "its data.",
    )

    # Federations are in the history too: changing them records the site anew.
    history = HistoricalRecords(m2m_fields=[federations])
    objects = NaturalKeyManager.from_queryset(SiteQuerySet)()
    natural_key_fields = ("name",)

    class Meta:
        ordering = ["name"]
        indexes = [
            # The sites table sorts names regardless of case, in both directions.
            models.Index(Lower("name"), "name", name="site_name_lower"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sites:site_detail", args=[self.name])


class ExperimentSiteQuerySet(models.QuerySet):
    def serving(self) -> ExperimentSiteQuerySet:
        """The names of sites in service: a retired site keeps its names, but serves nothing
        any more and leaves the figures."""
        return self.filter(site__retired_on__isnull=True)


class ExperimentSite(NaturalKeyModel):
    """A name an experiment uses for (part of) a site, with the experiment's own tier for it.
    A site in service serves an experiment when it has at least one such name."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="experiment_sites")
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="experiment_sites"
    )
    name = models.CharField(max_length=100, help_text="The experiment's name, e.g. T1_DE_KIT.")
    tier = models.PositiveSmallIntegerField(
        choices=TIER_CHOICES, null=True, blank=True,
        help_text="The experiment's tier, which may differ from WLCG's."
    )

    history = HistoricalRecords()
    objects = NaturalKeyManager.from_queryset(ExperimentSiteQuerySet)()
    natural_key_fields = ("experiment__slug", "name")

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "name"], name="unique_experiment_site_name",
                violation_error_message="The experiment already uses this name for a site.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment}: {self.name}"


class SiteSourceQuerySet(models.QuerySet):
    def proposing_retirement(self) -> SiteSourceQuerySet:
        """The listings that propose a site in service for retirement: the source marks it
        closed or suspended, or no longer lists it."""
        return self.filter(site__retired_on=None).filter(
            models.Q(state__in=SiteSource.LEAVING_STATES) | models.Q(gone_since__isnull=False))


class SiteSource(NaturalKeyModel):
    """That a source of truth (CRIC, GOCDB) lists a site, or did: which sources a site comes
    from, since when one no longer lists it, and what the source says of the site's state.
    A site is gone only from the sources that had it (sites/importers/apply.py)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="sources")
    source = models.CharField(max_length=10)  # the importer's label: "CRIC", "GOCDB"
    listed_since = models.DateField(default=datetime.date.today)
    gone_since = models.DateField(
        null=True, blank=True, help_text="The first import that no longer listed the site.")
    state = models.CharField(
        max_length=30, blank=True,
        help_text="What the source says of the site, e.g. CRIC's “closed” or “suspended”.")

    # A source's states that mean the site is leaving it: a WG member should consider
    # retiring it (the site page and the import runs propose it).
    LEAVING_STATES = frozenset({"closed", "suspended"})

    objects = NaturalKeyManager.from_queryset(SiteSourceQuerySet)()
    natural_key_fields = ("site__name", "source")

    class Meta:
        ordering = ["site", "source"]
        constraints = [models.UniqueConstraint(fields=["site", "source"],
                                               name="unique_site_source")]

    def __str__(self) -> str:
        return f"{self.site} in {self.source}"

    @property
    def leaving(self) -> bool:
        return self.state in self.LEAVING_STATES


class ImportRun(models.Model):
    """One import from a source of truth, scheduled or by hand, kept with its outcome and
    what it changed (or would have, for a dry run), for the WG's import runs page."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "scheduled"
        PAGE = "page", "by hand, on this page"
        COMMAND = "command", "by hand, on the command line"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "applied"
        DRY_RUN = "dry-run", "dry run, nothing changed"
        FAILED = "failed", "failed, nothing changed"

    source = models.CharField(max_length=10)
    location = models.CharField(max_length=500, help_text="The file or URL read.")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(null=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    summary = models.TextField(blank=True)  # the counts line, or why it failed
    lines = models.JSONField(default=list)  # the diff, one change a line

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} import of {self.started_at:%Y-%m-%d %H:%M}: {self.outcome}"


class CapabilityValue(NaturalKeyModel):
    """What a site reported for one capability, by whom and when."""

    class Source(models.TextChoices):
        FORM = "form", "Capability form"
        API = "api", "API"
        PROBE = "probe", "Capability probe"
        IMPORT = "import", "Import"
        DEMO = "demo", "Illustrative demo data"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="capability_values")
    capability = models.ForeignKey(
        CapabilityDefinition, on_delete=models.PROTECT, related_name="values"
    )
    value = models.CharField(max_length=100)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FORM)
    reported_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()
    natural_key_fields = ("site__name", "capability__key")

    class Meta:
        ordering = ["site", "capability"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "capability"], name="unique_capability_value",
                violation_error_message="The site has reported this capability already.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site}: {self.capability} = {self.value}"

    def clean(self) -> None:
        if self.capability_id is not None:
            try:
                self.capability.validate_value(self.value)
            except ValidationError as error:
                raise ValidationError({"value": error.messages}) from None

    @property
    def illustrative(self) -> bool:
        return self.source == self.Source.DEMO


EXPIRY_WARNING_DAYS = 30  # “expiring soon” on every page, in the API and in reminders


class ExceptionFigure(models.TextChoices):
    """The exception figures every page, filter and report counts sites by."""

    ACTIVE = "active", "Active"
    EXPIRING = "expiring", f"Expiring within {EXPIRY_WARNING_DAYS} days"
    LAPSED = "lapsed", "Expired, still relied on"
    STANDING = "standing", "Standing (by site kind)"

    @property
    def needs_attention(self) -> bool:
        return self in (ExceptionFigure.EXPIRING, ExceptionFigure.LAPSED)


class ExceptionState(models.TextChoices):
    """Where a granted exception stands on a day. The policy engine's `Grant.active_on` is the
    same rule in Python; a test holds the two together."""

    ACTIVE = "active", "active"
    UPCOMING = "upcoming", "not yet in force"
    EXPIRED = "expired", "expired"
    REVOKED = "revoked", "revoked"


class SiteExceptionQuerySet(models.QuerySet):
    def active_on(self, today: datetime.date) -> SiteExceptionQuerySet:
        """Granted, not yet expired (the expiry day included) and not revoked."""
        return self.filter(
            models.Q(expires_on__isnull=True) | models.Q(expires_on__gte=today),
            models.Q(revoked_on__isnull=True) | models.Q(revoked_on__gt=today),
            granted_on__lte=today,
        )

    def expiring_soon(self, today: datetime.date) -> SiteExceptionQuerySet:
        horizon = today + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
        return self.active_on(today).filter(expires_on__lte=horizon)

    def with_state(self, today: datetime.date) -> SiteExceptionQuerySet:
        """Each exception with its `state` on the day (an `ExceptionState`), in the same query:
        the conditions of `active_on`, each named."""
        return self.annotate(state=models.Case(
            models.When(revoked_on__lte=today, then=models.Value(ExceptionState.REVOKED)),
            models.When(granted_on__gt=today, then=models.Value(ExceptionState.UPCOMING)),
            models.When(expires_on__lt=today, then=models.Value(ExceptionState.EXPIRED)),
            default=models.Value(ExceptionState.ACTIVE),
            output_field=models.CharField(choices=ExceptionState.choices),
        ))


def too_long(kind: ExceptionKind, latest: datetime.date) -> str:
    return (f"“{kind.name}” lasts at most {kind.max_months} month"
            f"{'s' if kind.max_months != 1 else ''}: it can run to {latest:%-d %B %Y} at the "
            f"latest.")


class SiteException(NaturalKeyModel):
    """A deviation from an experiment's policy granted to one site, usually until a date."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="exceptions")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    kind = models.ForeignKey(ExceptionKind, on_delete=models.PROTECT, related_name="grants")
    reason = models.TextField()
    granted_by = models.CharField(max_length=200, help_text="Who granted it, e.g. the WG.")
    granted_on = models.DateField(default=datetime.date.today)
    expires_on = models.DateField(null=True, blank=True, help_text="The last day it applies.")
    revoked_on = models.DateField(null=True, blank=True)

    objects = NaturalKeyManager.from_queryset(SiteExceptionQuerySet)()
    history = HistoricalRecords()
    natural_key_fields = ("site__name", "experiment__slug", "kind__slug", "granted_on")

    class Meta:
        ordering = ["site", "experiment", "-granted_on"]
        verbose_name = "exception"

    def __str__(self) -> str:
        return f"{self.site} / {self.experiment}: {self.kind.name}"

    def clean(self) -> None:
        errors = {}
        if self.expires_on and self.granted_on and self.expires_on < self.granted_on:
            errors["expires_on"] = "An exception cannot expire before it is granted."
        if self.revoked_on and self.granted_on and self.revoked_on < self.granted_on:
            errors["revoked_on"] = "An exception cannot be revoked before it is granted."
        if self.kind_id and self.experiment_id and self.kind.experiment_id != self.experiment_id:
            errors["kind"] = f"This is an exception kind of {self.kind.experiment}, " \
                             f"not of {self.experiment}."
        if self.kind_id and self.kind.standing:
            errors["kind"] = (f"“{self.kind.name}” is a standing exception: it applies by "
                              f"itself to every {self.kind.get_applies_to_display()} site, "
                              f"without a grant.")
        if self.kind_id and self.granted_on and self.expires_on and "expires_on" not in errors:
            latest = self.kind.latest_expiry(self.granted_on)
            if latest and self.expires_on > latest:
                errors["expires_on"] = too_long(self.kind, latest)
        if errors:
            raise ValidationError(errors)

    def clean_fields(self, exclude=None) -> None:
        # Here rather than in clean(): a form that refused the expiry excludes the field from
        # the model's validation, and must not then be told that the expiry is missing.
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if ("expires_on" not in (exclude or ()) and "expires_on" not in errors
                and self.kind_id and self.kind.requires_expiry and not self.expires_on):
            errors["expires_on"] = [f"“{self.kind.name}” is temporary: say when it expires."]
        if errors:
            raise ValidationError(errors)


class SiteMigration(NaturalKeyModel):
    """How far a site has come in a migration: the last step it completed, since when, and
    who recorded it. Derived from the site's assessments where the migration's steps say in
    which scenarios they are done (`sites.progress`); recorded by hand by a WG member where
    no report can show them."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="migrations")
    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="sites")
    completed_step = models.ForeignKey(
        MigrationStep, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Blank while the site has not completed the first step.",
    )
    updated_on = models.DateField(default=datetime.date.today)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text="The WG member who recorded it by hand; blank where it is "
                                    "derived from the site's assessments.")

    history = HistoricalRecords()
    natural_key_fields = ("site__name", "migration__experiment__slug", "migration__slug")

    class Meta:
        ordering = ["migration", "site"]
        constraints = [
            models.UniqueConstraint(fields=["site", "migration"], name="unique_site_migration"),
        ]

    def __str__(self) -> str:
        return f"{self.site}: {self.migration}"

    def clean(self) -> None:
        if (self.completed_step_id and self.migration_id
                and self.completed_step.migration_id != self.migration_id):
            raise ValidationError({"completed_step": "This step belongs to another migration."})


def describe_decision(experiment: str, revision: int | None, rule: int | None,
                      exception: str | None, standing: str | None) -> str:
    """What decided an assessment, from the experiment's name, the number of the policy
    revision it was computed under, the position of the rule and the names of the exception
    kinds that decided: “CMS policy r7, rule 2”; "" where computed before revisions were
    kept."""
    if revision is None:
        return ""
    if standing:
        what = f"standing exception “{standing}”"
    elif exception:
        what = f"exception “{exception}”"
    elif rule is not None:
        what = f"rule {rule}"
    else:
        what = "no rule decided"
    return f"{experiment} policy r{revision}, {what}"


class AssessmentQuerySet(models.QuerySet):
    def with_confirmation(self) -> AssessmentQuerySet:
        """Each with `confirmed_at`: when its site's capabilities were last confirmed (None:
        never reported), which `Assessment.stale` reads."""
        return self.annotate(confirmed_at=models.Subquery(
            CapabilityValue.objects.filter(site=models.OuterRef("site"))
            .order_by("-reported_at").values("reported_at")[:1]))

    def of_compliance(self, compliance: str) -> AssessmentQuerySet:
        """In this compliance class: Unknown where the scenario is."""
        if compliance == Compliance.UNKNOWN:
            return self.filter(scenario__isnull=True)
        return self.filter(scenario__in=Scenario.objects.filter(compliance=compliance))

    def under_standing_exception(self) -> AssessmentQuerySet:
        """Sites of a kind one of the experiment's standing exceptions applies to (whether or
        not a rule serves them as well)."""
        applies = models.Q(pk__in=[])
        for experiment_id, site_kind in (ExceptionKind.objects.standing()
                                         .values_list("experiment_id", "applies_to")):
            applies |= models.Q(experiment_id=experiment_id, site__kind=site_kind)
        return self.filter(applies)

    def relying_on_lapsed_exception(self) -> AssessmentQuerySet:
        """Sites whose exception has expired and that still fall short of the policy."""
        return self.filter(lapsed_exception__isnull=False,
                           scenario__compliance=Compliance.NON_COMPLIANT)


class Assessment(models.Model):
    """The stored result of the policy engine for one site and one experiment it serves.
    Pages read these; they never evaluate rules per request."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="assessments")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    scenario = models.ForeignKey(
        Scenario, on_delete=models.PROTECT, null=True, blank=True, related_name="assessments",
        help_text="Blank when no rule of the experiment's policy applies.",
    )
    rule = models.ForeignKey(
        PolicyRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    exception = models.ForeignKey(
        SiteException, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The active exception that overrides the rule.",
    )
    standing_exception = models.ForeignKey(
        ExceptionKind, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The standing exception that overrides the rule.",
    )
    lapsed_exception = models.ForeignKey(
        SiteException, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="An expired exception that no longer applies.",
    )
    pilot_credentials = models.CharField(max_length=200, blank=True)
    payload_credentials = models.CharField(max_length=200, blank=True)
    allows_production = models.BooleanField("production jobs")
    allows_user_jobs = models.BooleanField("user jobs")
    reason = models.TextField()
    computed_at = models.DateTimeField(default=timezone.now)
    revision = models.ForeignKey(
        PolicyRevision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The revision of the experiment's policy it was computed under.",
    )
    valid_until = models.DateField(
        null=True, blank=True, db_index=True,
        help_text="The last day the result holds by the clock alone: an exception it rests on "
                  "expires, or one starts. Blank: until what it was computed from changes.",
    )

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["site", "experiment"]
        constraints = [
            models.UniqueConstraint(fields=["site", "experiment"], name="unique_assessment"),
        ]
        indexes = [
            # Covers the overview's counts and the table's scenario and compliance filters:
            # both read (experiment, scenario) → sites without touching the rows.
            models.Index(fields=["experiment", "scenario", "site"], name="assessment_by_scenario"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment} at {self.site}: {self.scenario or 'unknown'}"

    @property
    def stale(self) -> bool:
        """Whether it rests on capabilities no one has confirmed for CAPABILITY_CONFIRM_DAYS
        (from a queryset `with_confirmation`)."""
        return self.confirmed_at is not None and self.confirmed_at < stale_before()

    @property
    def compliance(self) -> Compliance:
        return Compliance(self.scenario.compliance) if self.scenario else Compliance.UNKNOWN

    @property
    def decided_by(self) -> str:
        """“CMS policy r7, rule 2” (`describe_decision`): select its revision, rule,
        exception's kind and standing exception with it."""
        return describe_decision(
            self.experiment.name, self.revision.number if self.revision_id else None,
            self.rule.position if self.rule_id else None,
            self.exception.kind.name if self.exception_id else None,
            self.standing_exception.name if self.standing_exception_id else None)


class AssessmentChange(models.Model):
    """A site's scenario for an experiment changed, or what else its page shows of the
    assessment (credentials, workloads, the reason), or the site began or stopped serving the
    experiment: kept for “what changed since the last meeting” and for the state on past
    days, each with the assessment as it became. Written by the recomputation, never
    edited."""

    class Event(models.TextChoices):
        CHANGED = "changed", "Scenario changed"
        UPDATED = "updated", "Same scenario, other credentials, workloads or reason"
        STARTED = "started", "Began serving the experiment"
        STOPPED = "stopped", "Stopped serving the experiment"

    event = models.CharField(max_length=8, choices=Event.choices, default=Event.CHANGED)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="assessment_changes")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    old_scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, null=True,
                                     related_name="+")
    new_scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, null=True,
                                     related_name="+")
    reason = models.TextField()
    # The assessment as it became (blank and None where it stopped, or recorded before these
    # were kept).
    pilot_credentials = models.CharField(max_length=200, blank=True)
    payload_credentials = models.CharField(max_length=200, blank=True)
    allows_production = models.BooleanField("production jobs", null=True)
    allows_user_jobs = models.BooleanField("user jobs", null=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    revision = models.ForeignKey(
        PolicyRevision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The policy revision whose saving caused it; blank: caused by the site's "
                  "own data (its reports, names, exceptions) or the clock.",
    )

    class Meta:
        ordering = ["-changed_at"]
        indexes = [
            # A site's first change after a day: its state at the day's end (timeline.py).
            models.Index(fields=["site", "experiment", "changed_at"],
                         name="assessment_change_by_site"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment} at {self.site}: {self.old_scenario} → {self.new_scenario}"


class SiteContact(models.Model):
    """A person who reports a site's capabilities, and how they became one: a WG member made
    them one by hand, or the identity provider asserts it at each single sign-on (and a role
    the provider no longer asserts is taken away at the next, wlcgstatus/oidc.py)."""

    class Granted(models.TextChoices):
        BY_HAND = "hand", "by hand"
        BY_SIGN_ON = "sign-on", "by single sign-on"

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    granted = models.CharField(max_length=10, choices=Granted.choices, default=Granted.BY_HAND)

    class Meta:
        db_table = "sites_site_contacts"  # the table the plain many-to-many had
        unique_together = [("site", "user")]

    def __str__(self) -> str:
        return f"{self.user} for {self.site} ({self.get_granted_display()})"


class SiteTokenQuerySet(models.QuerySet):
    def active(self) -> SiteTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class SiteToken(models.Model):
    """A key that lets a program (the capability probe, a site's own tooling) report one site's
    capabilities through the API. Only a hash of the key is kept: the key itself is shown
    once, when it is made, and cannot be recovered."""

    KEY_PREFIX = "wlcg_"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100,
                            help_text="What uses it, e.g. “capability probe on ce01”.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        help_text="Reports made with the token are recorded as this person's.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = SiteTokenQuerySet.as_manager()

    class Meta:
        ordering = ["site", "-created_at", "-id"]
        verbose_name = "site API token"

    def __str__(self) -> str:
        return f"{self.site}: {self.name}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_key(key: str) -> str:
        # The key is 256 random bits: a fast hash is as good as a slow one against guessing.
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, site, name: str, user) -> tuple[SiteToken, str]:
        """A new token for the site, and its key, which is not stored anywhere."""
        key = cls.KEY_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(site=site, name=name, created_by=user,
                                   key_hash=cls.hash_key(key))
        return token, key

    @classmethod
    def for_key(cls, key: str) -> SiteToken | None:
        """The active token with this key, if there is one."""
        return (cls.objects.active().select_related("site", "created_by")
                .filter(key_hash=cls.hash_key(key)).first())

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
