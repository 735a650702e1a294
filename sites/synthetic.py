"""Invented sites: plausible capability answers for the demo, and synthetic WLCG-like sites
at any scale for the benchmark (a realistic mix of tiers, countries, kinds, experiments,
capabilities, exceptions, migration states and a year of history)."""

from __future__ import annotations

import csv
import datetime
import random
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from experiments.models import (
    CapabilityDefinition,
    ExceptionKind,
    Experiment,
    Migration,
    PolicyRule,
)

from .models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
)
from .recompute import recompute

SINGULARITY_VERSIONS = ["3.5.3", "3.6.4", "3.7.4", "3.8.7", "3.11.4"]
APPTAINER_VERSIONS = ["1.1.9", "1.2.5", "1.3.4", "1.3.6"]
TIER_WEIGHTS = {1: 4, 2: 36, 3: 55, None: 5}  # about WLCG's own mix
KIND_WEIGHTS = {"grid": 90, "hpc": 7, "cloud": 3}
SERVES = {"atlas": 0.55, "cms": 0.45, "alice": 0.35, "lhcb": 0.12}
PREFIX = "SYNTH-"


def invent_capabilities(rng: random.Random, kind: str, today: datetime.date
                        ) -> dict[str, tuple[str, datetime.date]]:
    """Plausible answers for a site of this kind: HPC centres often lack containers, CVMFS
    and outbound network; now and then a site has not answered a question."""
    reported_on = today - datetime.timedelta(days=rng.randint(3, 420))
    weights = {"grid": (20, 30, 50), "hpc": (50, 30, 20), "cloud": (10, 20, 70)}[kind]
    runtime = rng.choices(["none", "singularity", "apptainer"], weights)[0]
    answers = {"container_runtime": runtime}
    if runtime != "none":
        versions = SINGULARITY_VERSIONS if runtime == "singularity" else APPTAINER_VERSIONS
        answers["container_runtime_version"] = rng.choice(versions)
    answers["unprivileged_userns"] = "yes" if rng.random() < 0.6 else "no"
    answers["cvmfs"] = "yes" if rng.random() < (0.5 if kind == "hpc" else 0.97) else "no"
    answers["outbound_network"] = "yes" if rng.random() < (0.4 if kind == "hpc" else 0.98) else "no"
    unanswered = {key for key in ("unprivileged_userns", "cvmfs") if rng.random() < 0.04}
    return {key: (value, reported_on) for key, value in answers.items() if key not in unanswered}



def real_countries() -> Counter:
    """WLCG's countries, weighted by how many sites each has."""
    path = settings.FILES_DIR / "fixtures" / "topology" / "wlcg-sites.csv"
    with open(path, newline="") as f:
        return Counter(row["country"] for row in csv.DictReader(f)
                       if row["country"] not in ("", "NULL"))


def generate_sites(count: int, seed: int = 1, today: datetime.date | None = None,
                   history_days: int = 365) -> int:
    """Add `count` synthetic sites after those already generated, with everything they
    report and a year of history, and assess them. Returns the number of sites added."""
    today = today or timezone.localdate()
    start = Site.objects.filter(name__startswith=PREFIX).count()
    rng = random.Random(f"{seed}-{start}")
    countries = real_countries()
    country_names, country_weights = list(countries), list(countries.values())
    experiments = {e.slug: e for e in Experiment.objects.all()}
    definitions = {d.key: d for d in CapabilityDefinition.objects.all()}
    transition = ExceptionKind.objects.get(slug="singularity-transition")
    migrations = {m.experiment.slug: (m, list(m.steps.all())) for m in
                  Migration.objects.select_related("experiment").prefetch_related("steps")}

    def day_in_last_year() -> datetime.date:
        return today - datetime.timedelta(days=rng.randint(0, history_days))

    with transaction.atomic():
        sites = Site.objects.bulk_create([
            Site(name=f"{PREFIX}{index:06d}",
                 tier=rng.choices(list(TIER_WEIGHTS), list(TIER_WEIGHTS.values()))[0],
                 country=rng.choices(country_names, country_weights)[0],
                 kind=rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0])
            for index in range(start, start + count)
        ], batch_size=1000)
        names, values, exceptions, states, history = [], [], [], [], []
        for site in sites:
            serves = [slug for slug, share in SERVES.items()
                      if slug in experiments and rng.random() < share] or ["atlas"]
            names += [ExperimentSite(site=site, experiment=experiments[slug],
                                     name=f"{slug.upper()}_{site.name}", tier=site.tier)
                      for slug in serves]
            answers = invent_capabilities(rng, site.kind, today)
            values += [CapabilityValue(
                site=site, capability=definitions[key], value=value,
                source=CapabilityValue.Source.DEMO,
                reported_at=timezone.make_aware(datetime.datetime.combine(
                    reported_on, datetime.time(9))))
                for key, (value, reported_on) in answers.items() if key in definitions]
            runtime = answers["container_runtime"][0]
            if ("cms" in serves and transition and site.kind != "hpc" and runtime == "none"
                    and rng.random() < 0.6):
                expires_on = today + datetime.timedelta(days=rng.randint(-60, 240))
                exceptions.append(SiteException(
                    site=site, experiment=experiments["cms"], kind=transition,
                    reason="Deploying Singularity (synthetic data).", granted_by="WG",
                    granted_on=min(expires_on, today) - datetime.timedelta(days=120),
                    expires_on=expires_on))
            for slug in serves:
                if slug in migrations:
                    migration, steps = migrations[slug]
                    reached = rng.randint(0, len(steps)) if runtime != "none" else 0
                    state = SiteMigration(site=site, migration=migration,
                                          completed_step=steps[reached - 1] if reached else None,
                                          updated_on=day_in_last_year())
                    states.append(state)
        ExperimentSite.objects.bulk_create(names, batch_size=2000)
        CapabilityValue.objects.bulk_create(values, batch_size=2000)
        SiteException.objects.bulk_create(exceptions, batch_size=2000)
        SiteMigration.objects.bulk_create(states, batch_size=2000)
        history = [_history_of(state) for state in states]
        SiteMigration.history.model.objects.bulk_create(history, batch_size=2000)
        recompute(sites=[site.pk for site in sites], today=today)
        # The synthetic sites have served their experiments since the start of their history.
        AssessmentChange.objects.filter(site__in=sites).update(
            changed_at=timezone.make_aware(datetime.datetime.combine(
                today - datetime.timedelta(days=history_days + 1), datetime.time())))
        _past_scenario_changes(rng, sites, day_in_last_year)
        _gather_planner_statistics()
    return len(sites)


def _gather_planner_statistics() -> None:
    """What autovacuum would gather a minute after a bulk load: without statistics,
    PostgreSQL plans for nearly empty tables and may scan an index once per site."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _history_of(state: SiteMigration):
    """The history record of a migration state, dated the day it was reached."""
    return SiteMigration.history.model(
        id=state.pk, site_id=state.site_id, migration_id=state.migration_id,
        completed_step_id=state.completed_step_id, updated_on=state.updated_on,
        history_type="+", history_date=timezone.make_aware(
            datetime.datetime.combine(state.updated_on, datetime.time(12))))


def _past_scenario_changes(rng: random.Random, sites: list[Site], day) -> None:
    """A year of scenario changes: a third of the sites whose payloads are now isolated in
    containers were not, until a day in the past year."""
    isolated = Assessment.objects.filter(site__in=sites,
                                         scenario__slug="containers-isolate-payloads")
    # Before, each experiment's last rule applied: the one for sites without containers.
    before = dict(PolicyRule.objects.order_by("experiment_id", "position")
                  .values_list("experiment_id", "scenario_id"))
    AssessmentChange.objects.bulk_create([
        AssessmentChange(site_id=a.site_id, experiment_id=a.experiment_id,
                         old_scenario_id=before.get(a.experiment_id), new_scenario_id=a.scenario_id,
                         reason="Synthetic history: containers deployed.",
                         changed_at=timezone.make_aware(datetime.datetime.combine(
                             day(), datetime.time(10))))
        for a in isolated.only("site_id", "experiment_id", "scenario_id")
        if rng.random() < 1 / 3
    ], batch_size=2000)


def serve_every_experiment() -> None:
    """Let every synthetic site serve every experiment, as WLCG at 100 times its size is
    usually pictured (four assessments a site), and assess the new memberships."""
    experiments = list(Experiment.objects.all())
    served = set(ExperimentSite.objects.filter(site__name__startswith=PREFIX)
                 .values_list("site_id", "experiment_id"))
    sites = Site.objects.filter(name__startswith=PREFIX).values_list("id", "name", "tier")
    ExperimentSite.objects.bulk_create([
        ExperimentSite(site_id=site_id, experiment=experiment, tier=tier,
                       name=f"{experiment.slug.upper()}_{name}")
        for site_id, name, tier in sites.iterator(chunk_size=2000)
        for experiment in experiments if (site_id, experiment.id) not in served
    ], batch_size=2000)
    recompute()
    _gather_planner_statistics()
