"""A site's capabilities written through the API with a token of that site only: checked as the
capability form checks them, recorded with their history and reassessed at once; refused,
with nothing stored, without a valid token, for another site, or for bad values."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from sites.models import Assessment, AssessmentChange, CapabilityValue, SiteToken

from ...helpers import post_values, reported_values, require_sign_in, signed_in


def history_count() -> int:
    return CapabilityValue.history.count()


def test_a_good_write_stores_the_values_recomputes_and_shows_in_the_history(
        key_a, site_a, contact_a):
    cms_before = Assessment.objects.get(site=site_a, experiment__slug="cms").scenario
    history_before = history_count()
    started = timezone.now()

    response = post_values(key_a, "SITE-A", {"values": {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4"}})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["site"] == "SITE-A"
    assert sorted(body["changed"]) == ["container_runtime", "container_runtime_version"]
    values = {v.capability.key: v for v in CapabilityValue.objects.filter(site=site_a)
              .select_related("capability")}
    for key, value in [("container_runtime", "apptainer"), ("container_runtime_version",
                                                           "1.3.4")]:
        assert values[key].value == value
        assert values[key].source == CapabilityValue.Source.API
        assert values[key].reported_by == contact_a
        assert values[key].reported_at >= started
    assert values["cvmfs"].reported_at < started  # not sent: not touched
    assert {v["capability"]: v["value"] for v in body["capabilities"]} == {
        key: v.value for key, v in values.items()}
    cms_after = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert cms_after.scenario != cms_before
    assert cms_after.computed_at >= started
    assert AssessmentChange.objects.filter(site=site_a, experiment__slug="cms",
                                           old_scenario=cms_before,
                                           new_scenario=cms_after.scenario).exists()
    shown = {a["experiment"]: a for a in body["assessments"]}
    assert shown["cms"]["scenario"] == cms_after.scenario.slug
    assert shown["cms"]["reason"] == cms_after.reason
    assert history_count() == history_before + 2
    record = CapabilityValue.history.filter(site_id=site_a.pk,
                                            capability__key="container_runtime").first()
    assert (record.value, record.history_user) == ("apptainer", contact_a)
    history = Client().get("/sites/SITE-A/history/").content.decode()
    assert "apptainer" in history and "Alice Able" in history
    assert SiteToken.objects.get().last_used_at >= started


def test_the_probe_reports_as_the_probe_and_an_empty_value_withdraws_one(key_b, site_b):
    response = post_values(key_b, "SITE-B", {"values": {"container_runtime": "apptainer",
                                                        "container_runtime_version": "1.3.4",
                                                        "cvmfs": ""},
                                             "reporter": "probe"})

    assert response.status_code == 200, response.content
    values = reported_values(site_b)
    assert "cvmfs" not in values
    assert values["container_runtime"][:2] == ("apptainer", "probe")
    assert values["container_runtime_version"][:2] == ("1.3.4", "probe")
    assert "cvmfs" in response.json()["changed"]


def test_a_value_sent_unchanged_is_confirmed(key_a, site_a):
    before = reported_values(site_a)["cvmfs"]
    response = post_values(key_a, "SITE-A", {"values": {"cvmfs": "yes"}})
    assert response.status_code == 200
    assert response.json()["changed"] == []
    after = reported_values(site_a)["cvmfs"]
    assert after[0] == "yes" and after[1] == "api" and after[3] > before[3]


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"container_runtime": "docker", "cvmfs": "no"}, "container_runtime",
     "“docker” is not one of none, singularity, apptainer."),
    ({"cvmfs": "maybe"}, "cvmfs", "“maybe” is not yes or no."),
    ({"cvmfs": "Yes"}, "cvmfs", "Yes is not one of the available choices"),  # as the form
    ({"container_runtime": "apptainer", "container_runtime_version": "latest"},
     "container_runtime_version", "“latest” is not a version number"),
    ({"container_runtime_version": "1.3.4"}, "container_runtime_version",
     "Container runtime version needs a container runtime"),
    ({"docker": "yes", "cvmfs": "no"}, "docker", "“docker” is not a capability"),
    ({"cvmfs": True}, "cvmfs", "Not a valid string."),
    ({"cvmfs": "x" * 101}, "cvmfs", "no more than 100 characters"),
])
def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_stored(
        key_a, site_a, values, field, message):
    before, history_before = reported_values(site_a), history_count()
    assessments = list(Assessment.objects.filter(site=site_a).values())

    response = post_values(key_a, "SITE-A", {"values": values})

    assert response.status_code == 400, response.content
    errors = response.json()["values"]
    assert field in errors
    assert any(message in error for error in errors[field]), errors
    assert reported_values(site_a) == before
    assert history_count() == history_before
    assert list(Assessment.objects.filter(site=site_a).values()) == assessments


def test_withdrawing_the_runtime_while_a_version_is_kept_is_refused(key_b, site_b):
    before = reported_values(site_b)
    response = post_values(key_b, "SITE-B", {"values": {"container_runtime": "none"}})
    assert response.status_code == 400
    assert "container_runtime_version" in response.json()["values"]
    assert reported_values(site_b) == before
    # Withdrawing both at once is fine.
    response = post_values(key_b, "SITE-B", {"values": {"container_runtime": "none",
                                                        "container_runtime_version": ""}})
    assert response.status_code == 200
    assert "container_runtime_version" not in reported_values(site_b)


@pytest.mark.parametrize("body", [
    {},
    {"values": {}},
    {"values": "apptainer"},
    {"values": {"cvmfs": "yes"}, "reporter": "form"},
    "not json",
])
def test_a_malformed_report_is_refused(key_a, site_a, body):
    before = reported_values(site_a)
    response = post_values(key_a, "SITE-A", body)
    assert response.status_code == 400
    assert reported_values(site_a) == before


def test_a_token_of_site_a_cannot_write_site_b(key_a, site_a, site_b, contact_b):
    before, history_before = reported_values(site_b), history_count()
    response = post_values(key_a, "SITE-B", {"values": {"container_runtime": "none"}})
    assert response.status_code == 403
    assert "SITE-A" in response.json()["detail"]
    assert post_values(key_a, "NOWHERE", {"values": {"cvmfs": "no"}}).status_code == 403
    assert reported_values(site_b) == before
    assert history_count() == history_before


def test_without_a_valid_token_nothing_is_written(key_a, site_a, contact_a):
    before = reported_values(site_a)
    body = {"values": {"cvmfs": "no"}}

    no_token = post_values(None, "SITE-A", body)
    assert no_token.status_code == 401
    assert no_token["WWW-Authenticate"] == "Token"
    assert post_values("wlcg_made-up", "SITE-A", body).status_code == 401
    assert post_values(key_a[:-1], "SITE-A", body).status_code == 401
    bad_header = Client().post("/api/sites/SITE-A/capabilities/", json.dumps(body),
                               content_type="application/json",
                               headers={"Authorization": f"Token {key_a} extra"})
    assert bad_header.status_code == 401
    # A signed-in contact's session is not a token.
    assert post_values(None, "SITE-A", body, client=signed_in(contact_a)).status_code == 401
    SiteToken.objects.get().revoke()
    revoked = post_values(key_a, "SITE-A", body)
    assert revoked.status_code == 401
    assert reported_values(site_a) == before


def test_a_token_stops_working_when_its_maker_may_no_longer_edit_the_site(
        key_a, site_a, contact_a):
    site_a.contacts.remove(contact_a)
    response = post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}})
    assert response.status_code == 403
    assert "alice" in response.json()["detail"]
    contact_a.is_active = False
    contact_a.save()
    assert post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 401


def test_when_the_dashboard_requires_a_sign_in_so_do_reads_but_tokens_still_write(
        settings, key_a, site_a, contact_a):
    require_sign_in(settings)
    settings.READ_REQUIRES_LOGIN = True
    anonymous = Client()

    for url in ("/api/", "/api/sites/", "/api/sites/SITE-A/", "/api/summary/",
                "/api/schema/", "/api/docs/"):
        assert anonymous.get(url).status_code in (401, 403), url
    assert signed_in(contact_a).get("/api/sites/SITE-A/").status_code == 200
    response = post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}})
    assert response.status_code == 200
    assert reported_values(site_a)["cvmfs"][0] == "no"
