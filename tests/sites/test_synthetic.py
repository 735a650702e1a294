"""The synthetic site generator, the scale tests' and the benchmark's data."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from experiments.models import Experiment
from sites.models import (
    Assessment,
    AssessmentChange,
    CapabilityValue,
    ExperimentSite,
    Site,
    SiteException,
    SiteMigration,
)
from sites.synthetic import PREFIX, serve_every_experiment


def test_generate_sites_adds_assessed_sites_with_a_mix_and_a_history(reference):
    out = StringIO()
    call_command("generate_sites", "300", stdout=out)

    assert "Added 300 synthetic sites." in out.getvalue()
    sites = Site.objects.filter(name__startswith=PREFIX)
    assert sites.count() == 300
    assert len(Counter(sites.values_list("tier", flat=True))) >= 4  # tiers 1 to 3 and none
    assert set(sites.values_list("kind", flat=True)) == {"grid", "hpc", "cloud"}
    assert sites.values("country").distinct().count() >= 10
    served = set(ExperimentSite.objects.values_list("site_id", "experiment_id"))
    assert {site_id for site_id, _ in served} == set(sites.values_list("id", flat=True))
    assert set(Assessment.objects.values_list("site_id", "experiment_id")) == served
    assert CapabilityValue.objects.values("site").distinct().count() == 300
    assert SiteException.objects.exists() and SiteMigration.objects.exists()
    assert AssessmentChange.objects.exclude(reason__startswith="Synthetic").exists()
    assert AssessmentChange.objects.filter(reason__startswith="Synthetic history").exists()


def test_generate_sites_adds_after_the_sites_already_generated(reference):
    call_command("generate_sites", "5", stdout=StringIO())
    call_command("generate_sites", "5", stdout=StringIO())

    assert sorted(Site.objects.values_list("name", flat=True)) == [
        f"{PREFIX}{index:06d}" for index in range(10)]


def test_generate_sites_needs_the_reference_data(db):
    Experiment.objects.all().delete()  # the test database comes with them

    with pytest.raises(CommandError, match="load the reference data first"):
        call_command("generate_sites", "5", stdout=StringIO())


def test_serve_every_experiment_gives_each_site_an_assessment_per_experiment(reference):
    call_command("generate_sites", "40", stdout=StringIO())

    serve_every_experiment()

    assert Assessment.objects.count() == 40 * Experiment.objects.count()
