"""Single sign-on against a real OpenID Connect provider started by the tests, with the
provider's groups mapped to the dashboard's roles."""

from urllib.parse import urlsplit

import oidc_provider_mock
import pytest
import requests

from sites.models import SiteContact, SiteToken
from sites.permissions import WG_MEMBERS

from ..factories.accounts import PASSWORD, UserFactory
from ..factories.sites import make_site
from ..helpers import post_values

# The sign-on exchange with the provider does not depend on the database engine.
pytestmark = [pytest.mark.urls("tests.wlcgstatus.sso_urls"), pytest.mark.backend_independent]


@pytest.fixture(scope="module")
def provider():
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def impostor():
    """Another provider, with other keys: tokens it signs must be rejected."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def sso(settings, provider, reference):
    """OIDC configured the way the environment variables configure it."""
    settings.OIDC_RP_CLIENT_ID = "wlcgstatus"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider}/oauth2/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider}/oauth2/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider}/jwks"
    settings.OIDC_PROVIDER_NAME = "CERN SSO"
    settings.OIDC_WG_GROUPS = ["wlcg-isolation-wg"]
    settings.OIDC_SITE_CONTACT_PREFIX = "site-contact:"
    settings.AUTHENTICATION_BACKENDS = ["wlcgstatus.oidc.GroupMappingBackend",
                                        "django.contrib.auth.backends.ModelBackend"]
    return provider


def sign_in(client, provider: str, sub: str, claims: dict):
    """The whole flow: our sign-in page sends the browser to the provider, the user picks an
    account there, the provider sends the browser back with a code."""
    requests.put(f"{provider}/users/{sub}", json=claims, timeout=5).raise_for_status()
    start = client.get("/oidc/authenticate/", {"next": "/me/"})
    assert start.status_code == 302
    assert start["Location"].startswith(f"{provider}/oauth2/authorize")
    consent = requests.post(start["Location"], data={"sub": sub}, allow_redirects=False,
                            timeout=5)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    assert back.path == "/oidc/callback/"
    return client.get(f"{back.path}?{back.query}")


def test_the_sign_in_page_offers_single_sign_on(client, sso):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with CERN SSO" in page
    assert 'href="/oidc/authenticate/' in page


def test_a_wg_member_signs_in_through_the_provider(client, sso, django_user_model):
    response = sign_in(client, sso, "wanda", {
        "email": "wanda@cern.ch", "preferred_username": "wanda", "given_name": "Wanda",
        "groups": ["wlcg-isolation-wg", "cms-users"]})
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    user = django_user_model.objects.get(username="wanda")
    assert user.groups.filter(name=WG_MEMBERS).exists()
    assert user.has_perm("sites.change_siteexception")
    assert client.get("/me/").context["user"] == user


def test_a_site_group_makes_the_user_a_contact_of_that_site(client, sso, django_user_model):
    site = make_site("FZK-LCG2", serves=("cms",))
    make_site("OTHER-SITE")
    sign_in(client, sso, "sam", {"email": "sam@kit.edu", "preferred_username": "sam",
                                 "groups": ["site-contact:FZK-LCG2", "site-contact:NOWHERE"]})
    user = django_user_model.objects.get(username="sam")
    assert list(user.contact_for_sites.values_list("name", flat=True)) == ["FZK-LCG2"]
    assert not user.groups.exists()
    assert client.get(f"/sites/{site.name}/capabilities/").status_code == 200
    assert client.get("/sites/OTHER-SITE/capabilities/").status_code == 403


def test_a_user_with_no_mapped_group_is_signed_in_and_reads_only(client, sso,
                                                                django_user_model):
    make_site("FZK-LCG2")
    response = sign_in(client, sso, "reader", {"email": "reader@example.org",
                                               "preferred_username": "reader",
                                               "groups": ["atlas-users"]})
    assert response["Location"] == "/me/"
    user = django_user_model.objects.get(username="reader")
    assert not user.groups.exists() and not user.contact_for_sites.exists()
    assert client.get("/").status_code == 200
    assert client.get("/sites/FZK-LCG2/capabilities/").status_code == 403
    assert "You are not a contact of any site yet" in client.get("/me/").content.decode()


def test_leaving_the_wg_group_at_the_provider_takes_the_role_away(client, sso,
                                                                  django_user_model):
    sign_in(client, sso, "wanda", {"email": "wanda@cern.ch", "preferred_username": "wanda",
                                   "groups": ["wlcg-isolation-wg"]})
    client.post("/accounts/logout/")
    sign_in(client, sso, "wanda", {"email": "wanda@cern.ch", "preferred_username": "wanda",
                                   "groups": []})
    assert not django_user_model.objects.get(username="wanda").groups.exists()


def test_a_token_signed_by_another_provider_is_rejected(client, sso, settings, impostor,
                                                        django_user_model):
    settings.OIDC_OP_JWKS_ENDPOINT = f"{impostor}/jwks"  # keys that did not sign the token
    response = sign_in(client, sso, "mallory", {"email": "mallory@example.org",
                                                "preferred_username": "mallory"})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
    assert not django_user_model.objects.filter(username="mallory").exists()
    assert "_auth_user_id" not in client.session


def test_local_accounts_keep_working_beside_single_sign_on(client, sso, django_user_model):
    UserFactory(username="local")
    response = client.post("/accounts/login/", {"username": "local", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/me/").context["user"].username == "local"


def test_leaving_a_site_group_takes_the_contact_role_and_its_tokens_away(
        client, sso, django_user_model):
    site = make_site("FZK-LCG2", serves=("cms",))
    sign_in(client, sso, "sam", {"email": "sam@kit.edu", "preferred_username": "sam",
                                 "groups": ["site-contact:FZK-LCG2"]})
    sam = django_user_model.objects.get(username="sam")
    key = SiteToken.issue(site, "probe", sam)[1]
    assert post_values(key, site.name, {"values": {"cvmfs": "yes"}}).status_code == 200
    client.post("/accounts/logout/")

    sign_in(client, sso, "sam", {"email": "sam@kit.edu", "preferred_username": "sam",
                                 "groups": []})

    assert not sam.contact_for_sites.exists()
    assert client.get(f"/sites/{site.name}/capabilities/").status_code == 403
    refused = post_values(key, site.name, {"values": {"cvmfs": "no"}})
    assert refused.status_code == 403
    assert "sam, who made this token, may no longer edit FZK-LCG2" in refused.json()["detail"]


def test_a_contact_made_by_hand_stays_whatever_the_provider_says(client, sso,
                                                                django_user_model):
    site = make_site("FZK-LCG2", serves=("cms",))
    make_site("DESY-HH")
    sam = UserFactory(username="sam", email="sam@kit.edu", contact_for_sites=[site])
    sign_in(client, sso, "sam", {"email": "sam@kit.edu", "preferred_username": "sam",
                                 "groups": ["site-contact:FZK-LCG2", "site-contact:DESY-HH"]})
    assert dict(SiteContact.objects.filter(user=sam).values_list("site__name", "granted")) == {
        "FZK-LCG2": "hand", "DESY-HH": "sign-on"}
    client.post("/accounts/logout/")

    sign_in(client, sso, "sam", {"email": "sam@kit.edu", "preferred_username": "sam",
                                 "groups": []})

    assert list(sam.contact_for_sites.values_list("name", flat=True)) == ["FZK-LCG2"]
