"""Every list of the API costs the same number of queries for 100 sites as for 20."""

from __future__ import annotations

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from experiments.models import CapabilityDefinition, ExceptionKind, Experiment, Migration
from sites.models import (
    CapabilityValue,
    ExperimentSite,
    Federation,
    Site,
    SiteException,
    SiteMigration,
)
from sites.recompute import recompute

from ...helpers import get_json


def add_sites(count: int, start: int) -> None:
    """Sites with names for two experiments, reported values, a federation, an exception and
    migration states, made in bulk and then assessed."""
    experiments = {e.slug: e for e in Experiment.objects.all()}
    definitions = {d.key: d for d in CapabilityDefinition.objects.all()}
    kind = ExceptionKind.objects.get(slug="singularity-transition")
    migration = Migration.objects.get(slug="alien-to-jalien")
    federation, _ = Federation.objects.get_or_create(name="FED")
    today = timezone.localdate()
    sites = Site.objects.bulk_create(Site(name=f"MANY-{start + n:04}", tier=n % 4)
                                     for n in range(count))
    ExperimentSite.objects.bulk_create(
        ExperimentSite(site=site, experiment=experiments[slug], name=f"{slug}-{site.name}")
        for site in sites for slug in ("cms", "alice"))
    CapabilityValue.objects.bulk_create(
        CapabilityValue(site=site, capability=definitions[key], value=value)
        for n, site in enumerate(sites)
        for key, value in [("container_runtime", ["none", "apptainer"][n % 2]),
                           ("cvmfs", "yes")])
    SiteException.objects.bulk_create(
        SiteException(site=site, experiment=kind.experiment, kind=kind, reason="r",
                      granted_by="WG", granted_on=today, expires_on=today
                      + datetime.timedelta(days=5)) for site in sites)
    SiteMigration.objects.bulk_create(
        SiteMigration(site=site, migration=migration, completed_step=migration.steps.first())
        for site in sites)
    Site.federations.through.objects.bulk_create(
        Site.federations.through(site=site, federation=federation) for site in sites)
    recompute(sites=[site.pk for site in sites])


LISTS = [
    ("/api/sites/", {}),
    ("/api/sites/", {"experiment": "cms", "cap_cvmfs": "yes", "tier": ["1", "2"]}),
    ("/api/assessments/", {}),
    ("/api/exceptions/", {"active": "true"}),
    ("/api/migrations/", {}),
    ("/api/summary/", {}),
    ("/api/experiments/", {}),
    ("/api/scenarios/", {}),
]


def test_list_queries_do_not_grow_with_the_number_of_sites(client, reference):
    def queries() -> dict[str, int]:
        counts = {}
        for url, query in LISTS:
            with CaptureQueriesContext(connection) as captured:
                get_json(client, url, {**query, "page_size": 500})
            counts[f"{url} {query}"] = len(captured)
        return counts

    add_sites(20, 0)
    at_20 = queries()
    add_sites(80, 20)
    assert get_json(client, "/api/sites/", {"page_size": 500})["count"] == 100
    assert queries() == at_20
