"""The change history of a site's page and of Recent changes: who changed what from which value
to which, saves and exception changes alike; refused saves and mere confirmations add
nothing."""

from __future__ import annotations

from experiments.models import MigrationStep, Scenario
from sites.models import CapabilityValue, Federation, Site, SiteException
from sites.updates import record_capabilities

from ..helpers import (
    browser,
    capabilities_url,
    day,
    fill,
    grant_url,
    history_of,
    history_rows,
    page_form,
    renew_url,
    revoke_url,
    save_capabilities,
    signed_in,
)


def test_accepted_saves_appear_in_the_site_history_and_recent_changes_with_who_and_values(
        client, alice, bob, site_a, site_b):
    save_capabilities(alice, site_a, {"container_runtime": "apptainer",
                                      "container_runtime_version": "1.3.4"})
    save_capabilities(bob, site_b, {"container_runtime_version": "3.11.5"})

    site_a_history = history_rows(client.get(history_of(site_a)))
    assert ["Alice Able", "Container runtime changed", "none", "apptainer"] in site_a_history
    assert ["Alice Able", "Container runtime version created", "—", "1.3.4"] in site_a_history
    assert not [row for row in site_a_history if row[0] == "bob"]
    site_b_history = history_rows(client.get(history_of(site_b)))
    assert ["bob", "Container runtime version changed", "3.8.7", "3.11.5"] in site_b_history

    changes = history_rows(client.get("/changes/"))
    assert ["Alice Able", "SITE-A", "Container runtime changed", "none", "apptainer"] in changes
    assert ["Alice Able", "SITE-A", "Container runtime version created", "—",
            "1.3.4"] in changes
    assert ["bob", "SITE-B", "Container runtime version changed", "3.8.7", "3.11.5"] in changes
    # Newest first: Bob saved after Alice.
    assert changes.index(["bob", "SITE-B", "Container runtime version changed", "3.8.7",
                          "3.11.5"]) < changes.index(
        ["Alice Able", "SITE-A", "Container runtime changed", "none", "apptainer"])


def test_refused_saves_add_no_history(client, alice, contact_b, wendy, site_a):
    form = page_form(alice.get(capabilities_url(site_a)))
    form["container_runtime"] = "apptainer"
    previewed = page_form(form.submit("preview"))  # Alice's Save button, not pressed yet
    records = CapabilityValue.history.filter(site_id=site_a.pk).count()
    shown = history_rows(client.get(history_of(site_a)))

    previewed["container_runtime"].force_value("docker")  # forced: no button offers it
    invalid = previewed.submit("save")
    forbidden = signed_in(contact_b).post(capabilities_url(site_a), {
        **dict(previewed.submit_fields()), "container_runtime": "apptainer", "save": "1"})
    assert (invalid.status_code, forbidden.status_code) == (200, 403)
    assert CapabilityValue.history.filter(site_id=site_a.pk).count() == records

    save_capabilities(wendy, site_a, {"cvmfs": "no"})
    records = CapabilityValue.history.filter(site_id=site_a.pk).count()
    previewed["container_runtime"] = "apptainer"
    conflict = previewed.submit("save")
    assert conflict.status_code == 200
    assert CapabilityValue.history.filter(site_id=site_a.pk).count() == records

    rows = history_rows(client.get(history_of(site_a)))
    assert [row for row in rows if row not in shown] == [
        ["Wendy Gee", "CVMFS changed", "yes", "no"]]


def test_grant_renew_and_revoke_appear_in_the_history_with_their_reasons(
        client, wendy, site_a, cms_kind):
    fill(page_form(wendy.get(grant_url(site_a))), {
        "experiment": str(cms_kind.experiment_id), "kind": str(cms_kind.pk),
        "reason": "Deploying Apptainer by spring", "expires_on": day(30).isoformat()}).submit()
    exception = SiteException.objects.get(site=site_a)
    fill(page_form(wendy.get(renew_url(exception))), {
        "expires_on": day(90).isoformat(), "reason": "The new nodes arrive late"}).submit()
    fill(page_form(wendy.get(revoke_url(exception))),
         {"reason": "Apptainer is deployed"}).submit()

    name = cms_kind.name
    expected = [
        ["Wendy Gee", "CMS exception changed Revoked by Wendy Gee: Apptainer is deployed",
         f"{name} until {day(90)}", f"{name} until {day(90)}, revoked on {day(0)}"],
        ["Wendy Gee", "CMS exception changed Renewed by Wendy Gee: The new nodes arrive late",
         f"{name} until {day(30)}", f"{name} until {day(90)}"],
        ["Wendy Gee", "CMS exception created Granted: Deploying Apptainer by spring", "—",
         f"{name} until {day(30)}"],
    ]
    rows = [row for row in history_rows(client.get(history_of(site_a)))
            if "CMS exception" in row[1]]
    assert rows == expected
    changes = [row[:1] + row[2:] for row in history_rows(client.get("/changes/"))
               if row[1:2] == ["SITE-A"] and "CMS exception" in row[2]]
    assert changes == expected


def test_confirmations_neither_show_as_changes_nor_push_real_changes_out_of_the_history(
        client, alice, site_a):
    save_capabilities(alice, site_a, {"cvmfs": "no"})
    for _ in range(34):  # every save confirms the site's three values: 102 history records
        assert save_capabilities(alice, site_a).status_code == 302

    rows = history_rows(client.get(history_of(site_a)))

    assert ["Alice Able", "CVMFS changed", "yes", "no"] in rows
    assert [row for row in rows if row[1].endswith(" changed") and row[2] == "—"] == []


def test_the_first_change_to_the_loaded_demo_shows_what_it_changed_from(client, demo, wg_member):
    desy = Site.objects.get(name="DESY-HH")
    before = CapabilityValue.objects.get(site=desy, capability__key="outbound_network").value
    after = "no" if before == "yes" else "yes"

    save_capabilities(browser(wg_member), desy, {"outbound_network": after})

    change = ["Wendy Gee", "Outbound network changed", before, after]
    rows = history_rows(client.get("/sites/DESY-HH/history/"))
    assert [row for row in rows if row[0] != "policy"] == [change]  # the load itself is none
    # Above it, what the policy engine concluded from it: ATLAS tests the network.
    assert rows[0][0] == "policy" and rows[0][1].startswith("ATLAS scenario changed")
    newest, *before = [row for row in history_rows(client.get("/changes/"))
                       if row[0] != "policy"]
    assert newest == [change[0], "DESY-HH", *change[1:]]
    # Before it, the demo's replayed year: its reports and the migration steps they reached.
    assert {row[0] for row in before} == {"system"}
    assert {"Container runtime changed", "Singularity at every CMS site changed"} <= {
        row[2] for row in before}



def test_changes_to_the_wg_reference_data_are_in_the_history_with_who_and_values(
        client, reference, admin_user):
    scenario = Scenario.objects.get(slug="not-isolated")
    old_name = scenario.name
    step = MigrationStep.objects.get(migration__slug="singularity-rollout", position=1)
    admin = browser(admin_user)

    form = admin.get(f"/admin/experiments/scenario/{scenario.pk}/change/").forms["scenario_form"]
    form["name"] = "Payloads not isolated from the pilot"
    form.submit().follow()
    form = admin.get(f"/admin/experiments/migration/{step.migration_id}/change/").forms[
        "migration_form"]
    form["steps-0-target_date"] = "2027-06-30"
    form.submit().follow()

    rows = history_rows(client.get("/changes/"))
    assert ["admin", "WG", "Scenario “Not isolated” changed",
            f"{old_name} (Non-compliant); pilot: {scenario.pilot_credentials}; payload: "
            f"{scenario.payload_credentials}",
            f"Payloads not isolated from the pilot (Non-compliant); pilot: "
            f"{scenario.pilot_credentials}; payload: {scenario.payload_credentials}"] in rows
    assert ["admin", "WG", "Singularity at every CMS site step 1 changed",
            f"{step.name}, target {step.target_date or 'none'}",
            f"{step.name}, target 2027-06-30"] in rows


def test_a_change_of_federations_is_in_the_site_history(client, demo, admin_user):
    desy = Site.objects.prefetch_related("federations").get(name="DESY-HH")
    before = sorted(f.name for f in desy.federations.all())
    other = Federation.objects.exclude(pk__in=desy.federations.all()).order_by("name").first()
    admin = browser(admin_user)
    form = admin.get(f"/admin/sites/site/{desy.pk}/change/").forms["site_form"]
    form["federations"] = [str(other.pk)]

    assert form.submit().status_code == 302

    # The record alone (a policy row here is from the demo's replayed year).
    [row] = [row for row in history_rows(client.get("/sites/DESY-HH/history/"))
             if row[0] != "policy"]
    assert row[:2] == [admin_user.get_username(), "Site changed"]
    assert row[2] == ", ".join(["Grid", "tier 2", "Germany", *before])
    assert row[3] == f"Grid, tier 2, Germany, {other.name}"


def test_the_changes_of_a_deleted_site_still_show(client, site_a):
    record_capabilities(site_a, {"container_runtime": "apptainer"})
    site_a.delete()  # as in the admin: its history stays

    rows = history_rows(client.get("/changes/"))

    assert ["system", "(deleted)", "Container runtime changed", "none", "apptainer"] in [
        row[:5] for row in rows]


def test_a_site_page_leads_to_its_history(client, site_a):
    record_capabilities(site_a, {"container_runtime": "apptainer"})
    page = browser().get(site_a.get_absolute_url())

    history = page.click(href=history_of(site_a))

    assert history.html.h1.text == "History of SITE-A"
    assert ["system", "Container runtime changed", "none", "apptainer"] in [
        row[:4] for row in history_rows(history)]
