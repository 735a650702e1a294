"""Bad reference data is refused with a clear message by model validation, which the admin and
the fixtures share; nothing is stored: rule conditions that do not fit their capability, choice
capabilities without their values."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError

from experiments.models import CapabilityDefinition, PolicyRule, RuleCondition

from ..helpers import messages_of


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


def test_condition_naming_an_unknown_capability_is_refused(reference, admin_client):
    rule = PolicyRule.objects.get(experiment__slug="lhcb", position=2)
    response = admin_client.post(f"/admin/experiments/policyrule/{rule.pk}/change/",
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
def test_condition_must_fit_its_capability(reference, admin_client, key, operator, value,
                                           message):
    rule = PolicyRule.objects.get(experiment__slug="lhcb", position=2)
    capability = CapabilityDefinition.objects.get(key=key)
    response = admin_client.post(f"/admin/experiments/policyrule/{rule.pk}/change/",
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
