"""Bad data is refused with a clear message by model validation, which the admin (and every
form) shares; nothing is stored."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError

from experiments.models import (
    CapabilityDefinition,
    ExceptionKind,
    Experiment,
    PolicyRule,
    RuleCondition,
)
from sites.models import CapabilityValue, ExperimentSite, SiteException

from .factories import make_site


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("wg-admin", "wg@example.org", "pw")
    client.force_login(user)
    return client


def messages_of(error: ValidationError, field: str) -> list[str]:
    return error.message_dict[field]


def test_exception_cannot_expire_before_it_is_granted(reference, staff_client):
    site = make_site(serves=("cms",))
    cms = Experiment.objects.get(slug="cms")
    kind = ExceptionKind.objects.get(experiment=cms)

    response = staff_client.post("/admin/sites/siteexception/add/", {
        "site": site.pk, "experiment": cms.pk, "kind": kind.pk, "reason": "Deploying",
        "granted_by": "WG", "granted_on": "2026-10-01", "expires_on": "2026-09-01",
    })

    assert response.status_code == 200
    assert "An exception cannot expire before it is granted." in response.text
    assert response.context["adminform"].form["reason"].value() == "Deploying"
    assert not SiteException.objects.exists()


def test_temporary_exception_needs_an_expiry(reference):
    site = make_site(serves=("cms",))
    cms = Experiment.objects.get(slug="cms")
    exception = SiteException(site=site, experiment=cms,
                              kind=ExceptionKind.objects.get(experiment=cms), reason="x",
                              granted_by="WG", granted_on=datetime.date(2026, 1, 1))
    with pytest.raises(ValidationError) as raised:
        exception.full_clean()
    assert "is temporary: say when it expires" in messages_of(raised.value, "expires_on")[0]


def test_exception_kind_must_belong_to_the_experiment(reference):
    site = make_site(serves=("cms", "atlas"))
    exception = SiteException(
        site=site, experiment=Experiment.objects.get(slug="atlas"),
        kind=ExceptionKind.objects.get(experiment__slug="cms"), reason="x", granted_by="WG",
        granted_on=datetime.date(2026, 1, 1), expires_on=datetime.date(2026, 6, 1),
    )
    with pytest.raises(ValidationError) as raised:
        exception.full_clean()
    assert messages_of(raised.value, "kind") == [
        "This is an exception kind of CMS, not of ATLAS."]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("cvmfs", "maybe", "“maybe” is not yes or no."),
    ("container_runtime", "docker", "“docker” is not one of none, singularity, apptainer."),
    ("container_runtime_version", "three", "“three” is not a version number such as 3.7.1."),
])
def test_capability_value_of_the_wrong_type_is_refused(reference, key, value, message):
    site = make_site()
    report = CapabilityValue(site=site, capability=CapabilityDefinition.objects.get(key=key),
                             value=value)
    with pytest.raises(ValidationError) as raised:
        report.full_clean()
    assert messages_of(raised.value, "value") == [message]


def test_capability_value_is_refused_in_the_admin(reference, staff_client):
    site = make_site()
    response = staff_client.post("/admin/sites/capabilityvalue/add/", {
        "site": site.pk, "capability": CapabilityDefinition.objects.get(key="cvmfs").pk,
        "value": "perhaps", "source": "form", "reported_at_0": "2026-11-01",
        "reported_at_1": "10:00:00",
    })
    assert response.status_code == 200
    assert "“perhaps” is not yes or no." in response.text
    assert not CapabilityValue.objects.exists()


def test_duplicate_experiment_site_name_is_refused(reference):
    first, second = make_site("FZK-LCG2"), make_site("GRIDKA-COPY")
    cms = Experiment.objects.get(slug="cms")
    ExperimentSite.objects.create(site=first, experiment=cms, name="T1_DE_KIT")
    duplicate = ExperimentSite(site=second, experiment=cms, name="T1_DE_KIT")
    with pytest.raises(ValidationError) as raised:
        duplicate.full_clean()
    assert raised.value.messages == ["The experiment already uses this name for a site."]
    # Another experiment may use the same name.
    ExperimentSite(site=second, experiment=Experiment.objects.get(slug="atlas"),
                   name="T1_DE_KIT").full_clean()


def rule_form(rule: PolicyRule, capability: str, operator: str, value: str) -> dict:
    """The admin's change form of a rule, with one new condition."""
    return {
        "experiment": rule.experiment_id, "position": rule.position, "summary": rule.summary,
        "site_kind": rule.site_kind, "scenario": rule.scenario_id,
        "pilot_credentials": rule.pilot_credentials,
        "payload_credentials": rule.payload_credentials, "allows_production": "on",
        "conditions-TOTAL_FORMS": "1", "conditions-INITIAL_FORMS": "0",
        "conditions-0-capability": capability, "conditions-0-operator": operator,
        "conditions-0-value": value,
    }


def test_condition_naming_an_unknown_capability_is_refused(reference, staff_client):
    rule = PolicyRule.objects.get(experiment__slug="lhcb", position=2)
    response = staff_client.post(f"/admin/experiments/policyrule/{rule.pk}/change/",
                                 rule_form(rule, "9999", "is", "yes"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not rule.conditions.exists()


def test_fixture_naming_an_unknown_capability_is_refused(reference, tmp_path):
    fixture = tmp_path / "bad_rule.yaml"
    fixture.write_text(
        "- model: experiments.rulecondition\n"
        "  fields: {rule: [lhcb, 2], capability: [gpu_count], operator: is, value: '4'}\n"
    )
    with pytest.raises(DeserializationError) as raised:
        call_command("loaddata", str(fixture), verbosity=0)
    assert "RuleCondition has no capability" in str(raised.value)
    assert not RuleCondition.objects.filter(rule__experiment__slug="lhcb",
                                            rule__position=2).exists()


@pytest.mark.parametrize(("key", "operator", "value", "message"), [
    ("cvmfs", "at_least", "yes", "“is at least” does not apply to this capability"),
    ("container_runtime", "one_of", "singularity, docker",
     "“docker” is not one of none, singularity, apptainer."),
    ("container_runtime_version", "at_least", "new", "“new” is not a version number"),
])
def test_condition_must_fit_its_capability(reference, staff_client, key, operator, value,
                                           message):
    rule = PolicyRule.objects.get(experiment__slug="lhcb", position=2)
    capability = CapabilityDefinition.objects.get(key=key)
    response = staff_client.post(f"/admin/experiments/policyrule/{rule.pk}/change/",
                                 rule_form(rule, str(capability.pk), operator, value))
    assert response.status_code == 200
    assert message in response.text
    assert not rule.conditions.exists()


def test_choice_capability_needs_its_values(reference):
    definition = CapabilityDefinition(key="gpu_vendor", name="GPU vendor", kind="choice",
                                      choices=["nvidia"])
    with pytest.raises(ValidationError) as raised:
        definition.full_clean()
    assert messages_of(raised.value, "choices") == [
        "A choice needs a list of at least two values."]
