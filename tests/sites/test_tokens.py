"""A site's API tokens as its contacts and the WG manage them: made and shown once, listed
without their key, revoked; only the site's contacts and WG members may; staff see and revoke
them in the admin, never a key.

Personas: Alice (contact of SITE-A), Bob (contact of SITE-B), Wendy (a WG member)."""

from __future__ import annotations

import html
import re

from sites.models import Site, SiteToken

from ..helpers import post_values, signed_in, soup


def tokens_url(site: Site | str) -> str:
    return f"/sites/{getattr(site, 'name', site)}/tokens/"


def shown_key(response) -> str | None:
    """The new token's key, where the page shows it (once)."""
    key = soup(response).select_one("code.token-key")
    return key.get_text() if key else None


def test_a_contact_creates_a_token_sees_it_once_and_it_works(contact_a, site_a):
    alice = signed_in(contact_a)
    assert tokens_url(site_a) in alice.get("/sites/SITE-A/").content.decode()

    created = alice.post(tokens_url(site_a), {"name": "probe on ce01"})

    assert created.status_code == 200
    assert created["Cache-Control"].startswith("max-age=0")
    assert "no-store" in created["Cache-Control"]
    key = shown_key(created)
    assert key and key.startswith("wlcg_")
    token = SiteToken.objects.get()
    assert (token.site, token.name, token.created_by) == (site_a, "probe on ce01", contact_a)
    assert token.key_hash == SiteToken.hash_key(key) and key not in token.key_hash
    assert f'-H "Authorization: Token {key}"' in html.unescape(created.content.decode())
    listing = alice.get(tokens_url(site_a))
    assert shown_key(listing) is None and key not in listing.content.decode()
    assert "probe on ce01" in listing.content.decode()
    assert "never" in listing.content.decode()
    assert post_values(key, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 200
    assert "never" not in alice.get(tokens_url(site_a)).content.decode()


def test_a_token_without_a_name_is_not_made(contact_a, site_a):
    response = signed_in(contact_a).post(tokens_url(site_a), {"name": ""})
    assert response.status_code == 200
    assert shown_key(response) is None
    assert not SiteToken.objects.exists()
    assert "This field is required." in response.content.decode()


def test_revoking_a_token_stops_it(contact_a, site_a, key_a):
    alice = signed_in(contact_a)
    token = SiteToken.objects.get()
    page = alice.get(tokens_url(site_a)).content.decode()
    assert f"/sites/SITE-A/tokens/{token.pk}/revoke/" in page

    revoked = alice.post(f"/sites/SITE-A/tokens/{token.pk}/revoke/", follow=True)

    assert revoked.status_code == 200
    assert "is revoked" in revoked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in revoked.content.decode()
    assert f"/sites/SITE-A/tokens/{token.pk}/revoke/" not in revoked.content.decode()
    assert post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 401
    assert alice.get(f"/sites/SITE-A/tokens/{token.pk}/revoke/").status_code == 405


def test_only_contacts_of_the_site_and_wg_members_manage_its_tokens(
        client, contact_a, contact_b, wg_member, site_a, key_a):
    token = SiteToken.objects.get()
    revoke = f"/sites/SITE-A/tokens/{token.pk}/revoke/"
    anonymous = client.get(tokens_url(site_a))
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    assert client.post(revoke).status_code == 302

    bob = signed_in(contact_b)
    assert bob.get(tokens_url(site_a)).status_code == 403
    assert bob.post(tokens_url(site_a), {"name": "mine"}).status_code == 403
    assert bob.post(revoke).status_code == 403
    assert "API tokens" not in bob.get("/sites/SITE-A/").content.decode()
    # Bob's own site's page cannot revoke Site A's token either.
    assert bob.post(f"/sites/SITE-B/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert SiteToken.objects.count() == 1

    wendy = signed_in(wg_member)
    assert "API tokens" in wendy.get("/sites/SITE-A/").content.decode()
    assert wendy.get(tokens_url(site_a)).status_code == 200
    made = wendy.post(tokens_url(site_a), {"name": "WG tooling"})
    assert shown_key(made)
    assert wendy.post(revoke).status_code == 302
    assert signed_in(contact_a).get(tokens_url("NOWHERE")).status_code == 404


def test_token_forms_are_csrf_protected(contact_a, site_a, key_a):
    alice = signed_in(contact_a, enforce_csrf_checks=True)
    page = alice.get(tokens_url(site_a)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    token = SiteToken.objects.get()
    revoke = f"/sites/SITE-A/tokens/{token.pk}/revoke/"

    assert alice.post(tokens_url(site_a), {"name": "sneaky"}).status_code == 403
    assert alice.post(revoke).status_code == 403
    assert SiteToken.objects.count() == 1 and SiteToken.objects.get().active

    assert shown_key(alice.post(tokens_url(site_a), {"name": "fine",
                                                     "csrfmiddlewaretoken": csrf}))
    assert alice.post(revoke, {"csrfmiddlewaretoken": csrf}).status_code == 302


def test_staff_see_and_revoke_tokens_in_the_admin_but_never_a_key(admin_client, key_a):
    admin = admin_client  # a superuser
    token = SiteToken.objects.get()
    assert admin.get("/admin/sites/sitetoken/add/").status_code == 403
    change = admin.get(f"/admin/sites/sitetoken/{token.pk}/change/").content.decode()
    assert key_a not in change and token.key_hash not in change

    admin.post("/admin/sites/sitetoken/", {"action": "revoke",
                                                "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert post_values(key_a, "SITE-A", {"values": {"cvmfs": "no"}}).status_code == 401


def test_a_refused_page_says_why(bob, site_a):
    response = bob.get(f"/sites/{site_a.name}/tokens/", status=403)
    assert "You are not a contact of this site." in response.text
    assert response.html.find("h1").get_text() == "Not allowed"
