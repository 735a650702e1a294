"""Sites, what they serve and what they reported; the reference data comes from the `reference`
fixture."""

import datetime

import factory
from django.utils import timezone

from experiments.models import CapabilityDefinition, ExceptionKind, Experiment, Migration
from sites.models import (
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
)
from sites.recompute import recompute, recomputing_once

# What a grid site without containers reports: enough for every experiment's policy to decide
# (ALICE production only, ATLAS push mode, CMS and LHCb not isolated).
NO_CONTAINERS = {"container_runtime": "none", "unprivileged_userns": "no", "cvmfs": "yes",
                 "outbound_network": "yes"}


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"TEST-SITE-{n}")
    tier = 2
    country = "Switzerland"
    country_code = "CH"


def make_site(name: str = "", *, kind: str = "grid", serves: tuple[str, ...] = (),
              tier: int | None = 2, country: str = "Switzerland", institute: str = "",
              **capabilities: str) -> Site:
    """A site serving the given experiments (by slug) that reported the given capabilities,
    assessed once, as a site that joins with its report."""
    with recomputing_once():
        site = SiteFactory(kind=kind, tier=tier, country=country, institute=institute,
                           **({"name": name} if name else {}))
        for slug in serves:
            ExperimentSite.objects.create(site=site, name=f"{slug.upper()}_{site.name}",
                                          experiment=Experiment.objects.get(slug=slug))
        for key, value in capabilities.items():
            CapabilityValue.objects.create(
                site=site, capability=CapabilityDefinition.objects.get(key=key), value=value
            )
    return site


def reported_on(site: Site, when: datetime.datetime, key: str | None = None) -> None:
    """Date the site's reports (or only that capability's) back or forth to `when`, as if
    reported then."""
    for values in (CapabilityValue.objects.filter(site=site),
                   CapabilityValue.history.filter(site=site)):  # its history says so too
        (values.filter(capability__key=key) if key else values).update(reported_at=when)


# Capability reports the bulk sites cycle through; the last one is a site that never reported.
PATTERNS = [
    {"container_runtime": "none", "cvmfs": "yes", "outbound_network": "yes"},
    {"container_runtime": "singularity", "container_runtime_version": "3.8.7", "cvmfs": "yes"},
    {"container_runtime": "apptainer", "container_runtime_version": "1.3.4",
     "unprivileged_userns": "yes", "cvmfs": "yes", "outbound_network": "yes"},
    {"container_runtime": "none", "unprivileged_userns": "yes", "cvmfs": "yes",
     "outbound_network": "no"},
    {},
]


def bulk_sites(count: int, *, start: int = 0, prefix: str = "BULK",
               serves: tuple[str, ...] | None = None, patterns: list[dict] | None = None,
               kind: str | None = None, extras: bool = True) -> list[Site]:
    """`count` sites made in a few bulk queries, assessed at the end: varied tiers, kinds
    (unless `kind` says which) and countries; memberships (every experiment but one, in turn,
    unless `serves` says which); capability reports cycling through `patterns`; and, with
    `extras`, CMS exceptions (active, expiring, lapsed) and migration states."""
    experiments = list(Experiment.objects.all())
    definitions = {d.key: d for d in CapabilityDefinition.objects.all()}
    patterns = PATTERNS if patterns is None else patterns
    kinds = ["grid", "grid", "grid", "hpc", "grid", "cloud"]
    countries = ["Germany", "Italy", "Switzerland", "United States"]
    sites = Site.objects.bulk_create([
        Site(name=f"{prefix}-{i:04d}", tier=[0, 1, 2, 2, 3, None][i % 6],
             country=countries[i % 4], kind=kind or kinds[i % 6], institute=f"Institute {i}")
        for i in range(start, start + count)
    ])
    sites = list(Site.objects.filter(name__in=[s.name for s in sites]).order_by("name"))
    memberships, values, served_by = [], [], {}
    now = timezone.now()
    for offset, record in enumerate(sites):
        i = start + offset
        slugs = (serves if serves is not None else
                 [e.slug for j, e in enumerate(experiments) if (i + j) % len(experiments) != 0])
        served_by[record.id] = set(slugs)
        memberships += [ExperimentSite(site=record, experiment=e, name=f"{e.slug}_{record.name}",
                                       tier=record.tier)
                        for e in experiments if e.slug in slugs]
        values += [CapabilityValue(site=record, capability=definitions[key], value=value,
                                   source=CapabilityValue.Source.DEMO,
                                   reported_at=now - datetime.timedelta(days=i % 90))
                   for key, value in patterns[i % len(patterns)].items()]
    ExperimentSite.objects.bulk_create(memberships)
    CapabilityValue.objects.bulk_create(values)
    if extras:
        today = timezone.localdate()
        cms = Experiment.objects.get(slug="cms")
        exception_kind = ExceptionKind.objects.get(slug="singularity-transition")
        exceptions = []
        for offset, record in enumerate(sites):
            if "cms" in served_by[record.id] and (start + offset) % 5 == 0:
                expires = today + datetime.timedelta(days=[90, 10, -3][(start + offset) % 3])
                exceptions.append(SiteException(
                    site=record, experiment=cms, kind=exception_kind, reason="Deploying",
                    granted_by="WG",
                    granted_on=today - datetime.timedelta(days=100), expires_on=expires))
        SiteException.objects.bulk_create(exceptions)
        states = []
        for migration in Migration.objects.prefetch_related("steps"):
            steps = [None, *migration.steps.all()]
            states += [SiteMigration(site=record, migration=migration,
                                     completed_step=steps[(start + offset) % len(steps)])
                       for offset, record in enumerate(sites)
                       if migration.experiment_id in
                       {e.id for e in experiments if e.slug in served_by[record.id]}]
        SiteMigration.objects.bulk_create(states)
    recompute(sites=[record.id for record in sites])
    return sites


def singularity_deployed_on(day: int) -> None:
    """A story several tests tell: on day 1 two CMS sites join, CH-STEADY with Singularity,
    CH-CHANGING without, which deploys it on story day `day`."""
    from sites.updates import record_capabilities

    from ..helpers import on, story_day

    with on(story_day(1)):
        changing = make_site("CH-CHANGING", serves=("cms",), container_runtime="none")
        make_site("CH-STEADY", serves=("cms",), container_runtime="singularity")
    with on(story_day(day)):
        record_capabilities(changing, {"container_runtime": "singularity"})


def record_step(site: Site, experiment: str, migration: str, position: int) -> None:
    """Record by hand that the site completed the migration's step at that position."""
    migration = Migration.objects.get(experiment__slug=experiment, slug=migration)
    SiteMigration.objects.update_or_create(
        site=site, migration=migration, defaults={
            "completed_step": migration.steps.get(position=position)})
