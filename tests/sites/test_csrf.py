"""Every form carries a CSRF token, and a post without the page's token is refused with nothing
changed: the browsers here check CSRF as a real one is checked."""

from __future__ import annotations

from sites.models import SiteException

from ..helpers import (
    SIGN_IN,
    browser,
    capabilities_url,
    day,
    fill,
    grant_url,
    page_form,
    renew_url,
    revoke_url,
    stored,
    values_of,
)


def without_token(form) -> dict[str, str]:
    """What the form would submit, less its CSRF token: a post forged on another site."""
    return {name: value for name, value in form.submit_fields()
            if name != "csrfmiddlewaretoken"}


def test_capability_form_post_without_csrf_token_is_refused(alice, site_a):
    form = page_form(alice.get(capabilities_url(site_a)))  # and the CSRF cookie with it
    form["container_runtime"] = "apptainer"
    form = page_form(form.submit("preview"))
    before = stored(site_a)

    refused = alice.post(capabilities_url(site_a), {**without_token(form), "save": "1"},
                         status=403)

    assert refused.status_code == 403
    assert stored(site_a) == before
    # With the page's token the same post goes through.
    assert form.submit("save").status_code == 302
    assert values_of(site_a)["container_runtime"] == "apptainer"


def test_grant_form_post_without_csrf_token_is_refused(wendy, site_a, cms_kind):
    form = fill(page_form(wendy.get(grant_url(site_a))), {
        "experiment": str(cms_kind.experiment_id), "kind": str(cms_kind.pk),
        "reason": "Deploying", "expires_on": day(30).isoformat()})

    refused = wendy.post(grant_url(site_a), without_token(form), status=403)

    assert refused.status_code == 403
    assert not SiteException.objects.exists()
    assert form.submit().status_code == 302
    assert SiteException.objects.count() == 1


def test_every_form_page_carries_a_csrf_token(alice, wendy, site_a, cms_exception):
    anonymous = browser()
    pages = [(alice, capabilities_url(site_a)), (wendy, capabilities_url(site_a)),
             (wendy, grant_url(site_a)), (wendy, renew_url(cms_exception)),
             (wendy, revoke_url(cms_exception)), (anonymous, SIGN_IN),
             (anonymous, "/accounts/password_reset/")]
    for visitor, url in pages:
        response = visitor.get(url)
        assert response.status_code == 200, url
        assert page_form(response)["csrfmiddlewaretoken"].value, url
