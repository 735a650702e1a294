"""My sites: a contact's own sites with each experiment's scenario, the sites whose capabilities
are stale or were never reported, and the exceptions about to expire."""

from __future__ import annotations

import datetime

from django.utils import dateformat, timezone

from ..factories.exceptions import grant
from ..factories.sites import make_site, reported_on
from ..helpers import assert_sent_to_sign_in, capabilities_url, day, page_text, soup, text_of


def my_site_cards(response) -> dict[str, str]:
    """Each site's card on My sites, as text, by the site's name, in the page's order."""
    return {text_of(card.h2): text_of(card)
            for card in soup(response).select("section.card.my-site")}


def test_my_sites_lists_exactly_the_contacts_sites_with_each_experiments_scenario(
        alice, contact_a, site_a, site_b):
    never = make_site("SITE-C", serves=("lhcb",))
    never.contacts.add(contact_a)

    response = alice.get("/me/")

    assert response.status_code == 200
    cards = my_site_cards(response)
    assert list(cards) == ["SITE-A", "SITE-C"]
    assert "ATLAS No network" in cards["SITE-A"]
    assert "CMS Not isolated" in cards["SITE-A"]
    assert "LHCb Unknown" in cards["SITE-C"]  # nothing reported: not “not isolated”
    assert f'href="{capabilities_url(site_a)}"' in response.content.decode()
    assert "SITE-B" not in page_text(response)


def test_my_sites_flags_stale_and_never_reported_sites(alice, contact_a, site_a, settings):
    settings.CAPABILITY_CONFIRM_DAYS = 30
    reported_on(site_a, timezone.now() - datetime.timedelta(days=31))
    fresh = make_site("SITE-D", serves=("cms",), container_runtime="apptainer")
    reported_on(fresh, timezone.now() - datetime.timedelta(days=29))
    never = make_site("SITE-C", serves=("lhcb",))
    for site in (fresh, never):
        site.contacts.add(contact_a)

    cards = my_site_cards(alice.get("/me/"))

    assert "not confirmed for over 30 days" in cards["SITE-A"]
    assert "never reported" not in cards["SITE-A"]
    assert "never reported" in cards["SITE-C"]
    assert "not confirmed" not in cards["SITE-D"]
    assert "last confirmed" in cards["SITE-D"]


def test_my_sites_lists_the_contacts_exceptions_expiring_within_30_days(
        alice, site_a, site_b, cms_kind):
    grant(site_a, day(-60), day(12), reason="Deploying")  # soon: listed
    grant(site_a, day(-59), day(45), reason="Deploying")  # later
    grant(site_a, day(-58), day(-2), reason="Deploying")  # expired
    grant(site_b, day(-60), day(5), reason="Deploying")  # not Alice's site

    response = alice.get("/me/")

    assert [(e.site.name, e.expires_on) for e in response.context["expiring"]] == [
        ("SITE-A", day(12))]
    text = page_text(response)
    assert (f"Exceptions expiring within 30 days SITE-A : CMS — {cms_kind.name}, expires "
            f"{dateformat.format(day(12), 'j M Y')}") in text
    assert "SITE-B" not in text


def test_my_sites_needs_sign_in(client, db):
    assert_sent_to_sign_in(client.get("/me/"), "/me/")
