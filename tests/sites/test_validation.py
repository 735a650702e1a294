"""Bad site data is refused with a clear message by model validation, which the admin (and every
form) shares; nothing is stored: exceptions, capability values, experiment names."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from experiments.models import CapabilityDefinition, ExceptionKind, Experiment
from sites.models import CapabilityValue, ExperimentSite, SiteException

from ..factories.sites import make_site
from ..helpers import messages_of


def test_exception_cannot_expire_before_it_is_granted(reference, admin_client):
    site = make_site(serves=("cms",))
    cms = Experiment.objects.get(slug="cms")
    kind = ExceptionKind.objects.get(slug="singularity-transition")

    response = admin_client.post("/admin/sites/siteexception/add/", {
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
    exception = SiteException(
        site=site, experiment=cms, kind=ExceptionKind.objects.get(slug="singularity-transition"),
        reason="x", granted_by="WG", granted_on=datetime.date(2026, 1, 1))
    with pytest.raises(ValidationError) as raised:
        exception.full_clean()
    assert "is temporary: say when it expires" in messages_of(raised.value, "expires_on")[0]


def test_exception_kind_must_belong_to_the_experiment(reference):
    site = make_site(serves=("cms", "atlas"))
    exception = SiteException(
        site=site, experiment=Experiment.objects.get(slug="atlas"),
        kind=ExceptionKind.objects.get(slug="singularity-transition"), reason="x", granted_by="WG",
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


def test_capability_value_is_refused_in_the_admin(reference, admin_client):
    site = make_site()
    response = admin_client.post("/admin/sites/capabilityvalue/add/", {
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
