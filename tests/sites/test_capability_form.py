"""The capability form as site contacts and WG members use it: who may open and save it, its
fields built from the capability definitions, mistakes explained on the field with nothing
saved, the preview of each experiment's scenario, and the save that reassesses at once."""

from __future__ import annotations

import datetime

import pytest
from django.utils import dateformat, timezone
from webtest.forms import Radio

from experiments.models import CapabilityDefinition
from sites.models import CapabilityValue
from sites.updates import values_token

from ..factories.sites import reported_on
from ..helpers import (
    assert_sent_to_sign_in,
    capabilities_url,
    field_error,
    fill,
    history_of,
    history_rows,
    page_form,
    page_text,
    save_capabilities,
    scenario_of,
    signed_in,
    stored,
    values_of,
)

# --- who may edit a site ------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["preview", "save"])
def test_contact_cannot_preview_or_save_another_sites_capabilities(
        contact_a, site_a, site_b, action):
    alice = signed_in(contact_a)  # a request no page of hers would make
    before = stored(site_b)

    assert alice.get(capabilities_url(site_b)).status_code == 403
    response = alice.post(capabilities_url(site_b), {
        "values_token": values_token(site_b), "container_runtime": "none", "cvmfs": "no",
        action: "1"})

    assert response.status_code == 403
    assert stored(site_b) == before
    assert values_of(site_b)["container_runtime"] == "singularity"


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_sign_in_and_changes_nothing(client, site_a, method):
    before = stored(site_a)
    url = capabilities_url(site_a)
    data = {"values_token": values_token(site_a), "container_runtime": "apptainer", "save": "1"}

    response = getattr(client, method)(url, data if method == "post" else None)

    assert_sent_to_sign_in(response, url)
    assert stored(site_a) == before


def test_contact_edits_their_own_site(alice, contact_a, site_a):
    response = save_capabilities(alice, site_a, {"container_runtime": "apptainer"})

    assert response.status_code == 302
    value = CapabilityValue.objects.get(site=site_a, capability__key="container_runtime")
    assert (value.value, value.reported_by) == ("apptainer", contact_a)


def test_wg_member_edits_any_site(wendy, wg_member, site_a, site_b):
    for site, runtime in ((site_a, "singularity"), (site_b, "apptainer")):
        response = save_capabilities(wendy, site, {"container_runtime": runtime})
        assert response.status_code == 302
        value = CapabilityValue.objects.get(site=site, capability__key="container_runtime")
        assert (value.value, value.reported_by) == (runtime, wg_member)


def test_staff_status_alone_does_not_let_a_user_edit_a_site(staff, site_a):
    before = stored(site_a)
    sam = signed_in(staff)

    assert sam.get(capabilities_url(site_a)).status_code == 403
    assert sam.post(capabilities_url(site_a), {"values_token": values_token(site_a),
                                               "cvmfs": "no", "save": "1"}).status_code == 403
    assert stored(site_a) == before


# --- the form is built from the definitions -----------------------------------------------------

def radio_values(form, name: str) -> list[str]:
    """The values of the radio buttons named `name`, in order; they must be all its fields."""
    [field] = form.fields[name]
    assert isinstance(field, Radio), (name, field)
    return [value for value, _checked, _text in field.options]


def test_a_new_capability_definition_appears_in_the_form_and_can_be_saved(
        alice, contact_a, site_a):
    CapabilityDefinition.objects.create(
        key="gpus", name="GPUs for pilots", kind="yes_no", position=6,
        help_text="Whether pilots can claim GPUs on the worker nodes.")

    response = alice.get(capabilities_url(site_a))

    text = page_text(response)
    assert "GPUs for pilots" in text
    assert "Whether pilots can claim GPUs on the worker nodes." in text
    form = page_form(response)
    assert radio_values(form, "gpus") == ["yes", "no", ""]

    form["gpus"] = "yes"
    saved = page_form(form.submit("preview")).submit("save").follow()

    value = CapabilityValue.objects.get(site=site_a, capability__key="gpus")
    assert (value.value, value.reported_by, value.source) == ("yes", contact_a, "form")
    assert "Saved 1 change to SITE-A's capabilities." in page_text(saved)
    assert "GPUs for pilots yes" in page_text(saved)


def test_yes_no_and_choice_capabilities_are_radio_buttons_and_versions_a_text_input(
        alice, site_a):
    response = alice.get(capabilities_url(site_a))

    form = page_form(response)
    assert radio_values(form, "container_runtime") == ["none", "singularity", "apptainer", ""]
    for key in ("unprivileged_userns", "cvmfs", "outbound_network"):
        assert radio_values(form, key) == ["yes", "no", ""], key
    [version] = form.fields["container_runtime_version"]
    assert (version.tag, version.attrs["type"]) == ("input", "text")
    # The form opens with what the site reported, “not reported” where it did not.
    assert {key: form[key].value for key in
            ("container_runtime", "unprivileged_userns", "cvmfs", "outbound_network")} == {
        "container_runtime": "none", "unprivileged_userns": "", "cvmfs": "yes",
        "outbound_network": "no"}
    assert 'name="save"' not in response.content.decode()  # preview first


# --- mistakes are explained, entries kept, nothing saved ----------------------------------------

@pytest.mark.parametrize("action", ["preview", "save"])
@pytest.mark.parametrize(("entries", "field", "message"), [
    pytest.param({"container_runtime": "docker"}, "container_runtime",
                 "Select a valid choice. docker is not one of the available choices.",
                 id="unknown-choice"),
    pytest.param({"container_runtime": "apptainer", "container_runtime_version": "three"},
                 "container_runtime_version", "is not a version number such as 3.7.1.",
                 id="malformed-version"),
    pytest.param({"cvmfs": "maybe"}, "cvmfs",
                 "Select a valid choice. maybe is not one of the available choices.",
                 id="yes-no-maybe"),
    pytest.param({"container_runtime": "none", "container_runtime_version": "3.8.7"},
                 "container_runtime_version",
                 "Container runtime version needs a container runtime: report the container "
                 "runtime or clear this field.", id="version-without-runtime"),
])
def test_invalid_capability_values_are_explained_on_the_field_and_nothing_is_saved(
        alice, site_a, entries, field, message, action):
    form = page_form(alice.get(capabilities_url(site_a)))
    if action == "save":  # the Save button comes with a preview
        form = page_form(form.submit("preview"))
    before = stored(site_a)

    form["unprivileged_userns"] = "yes"
    for name, value in entries.items():
        form[name].force_value(value)  # forced: no radio button offers docker or maybe
    response = form.submit(action)

    assert response.status_code == 200
    assert message in field_error(response, field)
    assert set(response.context["form"].errors) == {field}
    # The entries stay: the other answer the user gave, and the text they typed.
    kept = page_form(response)
    assert kept["unprivileged_userns"].value == "yes"
    if "container_runtime_version" in entries:
        assert kept["container_runtime_version"].value == entries["container_runtime_version"]
    assert "What this would change" not in page_text(response)
    assert stored(site_a) == before


# --- preview --------------------------------------------------------------------------------------

def test_preview_shows_each_experiments_scenario_before_and_after_and_saves_nothing(
        alice, site_a):
    form = page_form(alice.get(capabilities_url(site_a)))
    before = stored(site_a)

    response = fill(form, {"container_runtime": "apptainer",
                           "container_runtime_version": "1.3.4"}).submit("preview")

    assert response.status_code == 200
    text = page_text(response)
    assert "What this would change" in text
    assert "CMS: Not isolated → Isolated in containers" in text
    assert "ATLAS: stays No network" in text
    assert "Nothing is saved until you press Save." in text
    assert {row["experiment"].slug: (row["before"].slug, row["after"].slug)
            for row in response.context["preview"]} == {
        "atlas": ("no-network-no-credentials", "no-network-no-credentials"),
        "cms": ("not-isolated", "containers-isolate-payloads"),
    }
    assert stored(site_a) == before
    assert scenario_of(site_a, "cms") == "not-isolated"
    # The entries stay, and now the page offers to save them.
    kept = page_form(response)
    assert kept["container_runtime"].value == "apptainer"
    assert kept["container_runtime_version"].value == "1.3.4"
    assert 'name="save"' in response.content.decode()


# --- save -----------------------------------------------------------------------------------------

def test_save_stores_the_values_as_reported_by_the_user_and_reassesses_at_once(
        alice, contact_a, site_a):
    started = timezone.now()

    response = save_capabilities(alice, site_a, {"container_runtime": "apptainer",
                                                 "container_runtime_version": "1.3.4"})

    assert response.status_code == 302
    assert response.url == "/sites/SITE-A/"
    values = CapabilityValue.objects.filter(site=site_a).select_related("capability")
    assert {v.capability.key: v.value for v in values} == {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4", "cvmfs": "yes",
        "outbound_network": "no"}
    for value in values:
        assert value.reported_by == contact_a
        assert value.source == CapabilityValue.Source.FORM
        assert value.reported_at >= started
    assert scenario_of(site_a, "cms") == "containers-isolate-payloads"
    assert scenario_of(site_a, "atlas") == "no-network-no-credentials"

    page = alice.get(response.url)
    text = page_text(page)
    assert ("Saved 2 changes to SITE-A's capabilities. CMS: Not isolated → Isolated in "
            "containers.") in text
    assert "CMS Isolated in containers Target" in text
    assert f"Container runtime apptainer {timezone.localdate():%Y-%m-%d} by Alice Able" in text


def test_clearing_a_value_withdraws_it(alice, site_a):
    response = save_capabilities(alice, site_a, {"cvmfs": ""}).follow()

    assert not CapabilityValue.objects.filter(site=site_a, capability__key="cvmfs").exists()
    assert values_of(site_a) == {"container_runtime": "none", "outbound_network": "no"}
    text = page_text(response)
    assert "Saved 1 change to SITE-A's capabilities. No assessment changed." in text
    assert "CVMFS not reported" in text
    assert ["Alice Able", "CVMFS deleted", "yes", "(removed)"] in history_rows(
        alice.get(history_of(site_a)))


def test_saving_unchanged_values_confirms_them(alice, contact_a, site_a):
    reported_on(site_a, timezone.now() - datetime.timedelta(days=200))
    assert "not confirmed for over 180 days" in page_text(alice.get("/me/"))
    started = timezone.now()

    response = save_capabilities(alice, site_a).follow()

    assert ("Saved 0 changes to SITE-A's capabilities. No assessment changed."
            in page_text(response))
    values = CapabilityValue.objects.filter(site=site_a)
    assert {v.capability.key: v.value for v in values.select_related("capability")} == {
        "container_runtime": "none", "cvmfs": "yes", "outbound_network": "no"}
    for value in values:
        assert value.reported_at >= started
        assert value.reported_by == contact_a
    text = page_text(alice.get("/me/"))
    assert "not confirmed" not in text
    assert f"last confirmed {dateformat.format(timezone.localdate(), 'j M Y')}" in text
