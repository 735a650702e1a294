"""Stored assessments follow every change of their inputs."""

import datetime

import pytest
from django.core.management import call_command

from experiments.models import (
    CapabilityDefinition,
    Experiment,
    PolicyRule,
    RuleCondition,
)
from sites.models import Assessment, CapabilityValue, ExperimentSite, Site

from ..factories.exceptions import grant
from ..factories.sites import make_site
from ..helpers import scenario_of


def test_a_reported_capability_is_assessed_at_once(reference):
    site = make_site(serves=("cms",), container_runtime="none")
    assert scenario_of(site, "cms") == "not-isolated"

    value = CapabilityValue.objects.get(site=site, capability__key="container_runtime")
    value.value = "apptainer"
    value.save()

    assert scenario_of(site, "cms") == "containers-isolate-payloads"


def test_deleting_a_capability_value_is_assessed_on_commit(
        reference, django_capture_on_commit_callbacks):
    site = make_site(serves=("cms",), container_runtime="singularity")
    with django_capture_on_commit_callbacks(execute=True):
        CapabilityValue.objects.filter(site=site).delete()
    assert scenario_of(site, "cms") is None  # unknown: nothing reported any more


def test_changing_the_site_kind_is_assessed(reference):
    site = make_site(serves=("cms",), container_runtime="singularity")
    site.kind = "hpc"
    site.save()
    assert scenario_of(site, "cms") == "production-only"


def test_serving_a_new_experiment_adds_its_assessment_and_leaving_removes_it(
        reference, django_capture_on_commit_callbacks):
    site = make_site(serves=("cms",), container_runtime="singularity")
    membership = ExperimentSite.objects.create(
        site=site, experiment=Experiment.objects.get(slug="lhcb"), name="LCG.Test.ch")
    assert scenario_of(site, "lhcb") == "whole-pilot-containerised"

    with django_capture_on_commit_callbacks(execute=True):
        membership.delete()
    assert list(Assessment.objects.filter(site=site).values_list("experiment__slug",
                                                                 flat=True)) == ["cms"]


def test_granting_and_revoking_an_exception(reference, django_capture_on_commit_callbacks):
    site = make_site(serves=("cms",), container_runtime="none")
    today = datetime.date.today()
    exception = grant(site, today, today + datetime.timedelta(days=30), reason="Deploying")
    assert scenario_of(site, "cms") == "transition-exception"
    assert Assessment.objects.get(site=site).exception == exception

    exception.revoked_on = today
    exception.save()
    assert scenario_of(site, "cms") == "not-isolated"


def test_a_policy_change_recomputes_every_site_of_the_experiment(
        reference, django_capture_on_commit_callbacks):
    sites = [make_site(serves=("lhcb",), container_runtime="singularity",
                       container_runtime_version=version) for version in ("3.5.3", "3.8.7")]
    rule = PolicyRule.objects.get(experiment__slug="lhcb", position=1)

    with django_capture_on_commit_callbacks(execute=True):
        RuleCondition.objects.create(
            rule=rule, capability=CapabilityDefinition.objects.get(key="container_runtime_version"),
            operator="at_least", value="3.7")

    assert [scenario_of(site, "lhcb") for site in sites] == [
        "not-isolated", "whole-pilot-containerised"]


def test_an_experiment_change_leaves_other_experiments_alone(
        reference, django_capture_on_commit_callbacks):
    site = make_site(serves=("lhcb", "cms"), container_runtime="none")
    before = Assessment.objects.get(site=site, experiment__slug="cms").computed_at
    with django_capture_on_commit_callbacks(execute=True):
        PolicyRule.objects.filter(experiment__slug="lhcb", position=2).update(summary="x")
        PolicyRule.objects.get(experiment__slug="lhcb", position=2).save()
    assert Assessment.objects.get(site=site, experiment__slug="cms").computed_at == before


def test_recompute_command_catches_up_with_expired_exceptions(reference):
    site = make_site(serves=("cms",), container_runtime="none")
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    exception = grant(site, yesterday, yesterday, reason="Deploying")
    # Stored yesterday, while it still applied:
    Assessment.objects.filter(site=site).update(
        scenario=exception.kind.scenario, exception=exception)

    call_command("recompute_assessments", "--experiment", "cms", verbosity=0)

    assessment = Assessment.objects.get(site=site)
    assert assessment.scenario.slug == "not-isolated"
    assert assessment.lapsed_exception == exception
    assert f"expired on {yesterday.isoformat()}" in assessment.reason


def test_recompute_command_refuses_unknown_names(reference):
    with pytest.raises(Exception, match="Unknown site: NOWHERE"):
        call_command("recompute_assessments", "--site", "NOWHERE")


def test_demo_data_exercises_every_rule_and_exception(demo):
    assessed = Assessment.objects.exclude(scenario=None)
    assert Assessment.objects.filter(scenario=None, reason__startswith="Unknown: ").exists()
    for rule in PolicyRule.objects.all():
        assert assessed.filter(rule=rule, exception=None).exists(), rule
    assert assessed.exclude(exception=None).exists()
    assert assessed.exclude(lapsed_exception=None).exists()
    assert Site.objects.filter(kind="hpc").exists()
    assert not CapabilityValue.objects.exclude(source="demo").exists()


def test_a_name_moved_to_another_site_recomputes_both(reference):
    old_home = make_site("OLD-HOME", serves=("cms",), container_runtime="none")
    new_home = make_site("NEW-HOME", container_runtime="apptainer")
    name = ExperimentSite.objects.get(site=old_home)
    name.site = new_home
    name.save()
    assert not Assessment.objects.filter(site=old_home).exists()
    assert scenario_of(new_home, "cms") == "containers-isolate-payloads"


def test_a_retired_site_leaves_the_figures_and_the_table_but_keeps_its_page(reference, client):
    site = make_site("RETIRING", serves=("cms", "atlas"), container_runtime="none")
    site.retired_on = datetime.date.today()
    site.save()
    assert not Assessment.objects.filter(site=site).exists()
    assert CapabilityValue.objects.filter(site=site).exists()
    assert "RETIRING" not in client.get("/sites/").content.decode()
    assert "Retired on" in client.get("/sites/RETIRING/").content.decode()
