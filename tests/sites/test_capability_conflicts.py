"""Two people edit the same site: a save made after someone else saved, or merely confirmed,
the site's capabilities is refused with what changed meanwhile and the user's entries kept;
saved again, it goes through."""

from __future__ import annotations

from sites.models import CapabilityValue

from ..factories.accounts import UserFactory
from ..helpers import (
    browser,
    capabilities_url,
    fill,
    page_form,
    page_text,
    save_capabilities,
    stored,
    values_of,
)


def previewed(visitor, site, entries: dict):
    """The capability form opened, filled and previewed: its Save button not pressed yet."""
    form = fill(page_form(visitor.get(capabilities_url(site))), entries)
    return page_form(form.submit("preview"))


def test_a_save_after_someone_else_saved_is_refused_then_goes_through(
        alice, wendy, contact_a, wg_member, site_a):
    alice_form = previewed(alice, site_a, {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4",
        "unprivileged_userns": "yes"})
    assert save_capabilities(wendy, site_a, {
        "container_runtime": "singularity",
        "container_runtime_version": "3.8.7"}).status_code == 302
    before = stored(site_a)

    refused = alice_form.submit("save")

    assert refused.status_code == 200
    text = page_text(refused)
    assert ("Someone else saved this site's capabilities after you opened the form. Your "
            "entries are kept below") in text
    assert "Changed since you opened the form" in text
    assert {(m.capability, m.was, m.now, m.by) for m in refused.context["meanwhile"]} == {
        ("Container runtime", "none", "singularity", "Wendy Gee"),
        ("Container runtime version", "not reported", "3.8.7", "Wendy Gee"),
        ("CVMFS", "yes", "yes (confirmed)", "Wendy Gee"),
        ("Outbound network", "no", "no (confirmed)", "Wendy Gee"),
    }
    assert "Container runtime none singularity Wendy Gee" in text
    assert "Container runtime version not reported 3.8.7 Wendy Gee" in text
    # Alice's entries are still in the form; the database holds Wendy's.
    entries = page_form(refused)
    assert (entries["container_runtime"].value, entries["container_runtime_version"].value,
            entries["unprivileged_userns"].value) == ("apptainer", "1.3.4", "yes")
    assert entries["values_token"].value != alice_form["values_token"].value
    assert stored(site_a) == before
    runtime = CapabilityValue.objects.get(site=site_a, capability__key="container_runtime")
    assert (runtime.value, runtime.reported_by) == ("singularity", wg_member)

    again = page_form(entries.submit("preview")).submit("save").follow()

    assert "Saved 3 changes to SITE-A's capabilities." in page_text(again)
    assert values_of(site_a) == {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4",
        "unprivileged_userns": "yes", "cvmfs": "yes", "outbound_network": "no"}
    runtime.refresh_from_db()
    assert runtime.reported_by == contact_a


def test_a_confirmation_by_another_contact_also_refuses_a_stale_save(alice, site_a):
    carol = UserFactory(username="carol", email="carol@site-a.example.org",
                        contact_for_sites=[site_a])
    alice_form = previewed(alice, site_a, {"cvmfs": "no"})
    save_capabilities(browser(carol), site_a)

    refused = alice_form.submit("save")

    assert refused.status_code == 200
    assert {(m.capability, m.now, m.by) for m in refused.context["meanwhile"]} == {
        ("Container runtime", "none (confirmed)", "carol"),
        ("CVMFS", "yes (confirmed)", "carol"),
        ("Outbound network", "no (confirmed)", "carol"),
    }
    assert values_of(site_a)["cvmfs"] == "yes"
    assert page_form(refused)["cvmfs"].value == "no"
