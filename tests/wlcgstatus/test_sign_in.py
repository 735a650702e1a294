"""Signing in and out with a local account, a forgotten password reset through a mailed link,
and the dashboard behind a sign-in when READ_REQUIRES_LOGIN says so."""

from __future__ import annotations

import datetime
import re

import time_machine
from django.test import Client

from ..factories.accounts import PASSWORD
from ..helpers import (
    SIGN_IN,
    assert_sent_to_sign_in,
    browser,
    capabilities_url,
    fill,
    page_form,
    page_text,
    require_sign_in,
)


def sign_out_form(response):
    """The header's sign-out button."""
    [form] = [form for key, form in response.forms.items()
              if isinstance(key, int) and form.action == "/accounts/logout/"]
    return form


def test_signing_in_with_the_right_password_leads_to_my_sites(contact_a, site_a):
    visitor = browser()
    form = page_form(visitor.get(SIGN_IN))

    response = fill(form, {"username": "alice", "password": PASSWORD}).submit()

    assert response.status_code == 302
    assert response.url == "/me/"
    assert "SITE-A" in page_text(visitor.get("/me/"))


def test_signing_in_from_a_page_that_needs_it_returns_to_that_page(contact_a, site_a):
    visitor = browser()
    url = capabilities_url(site_a)
    page = visitor.get(url).follow()

    response = fill(page_form(page), {"username": "alice", "password": PASSWORD}).submit()

    assert (response.status_code, response.url) == (302, url)
    assert visitor.get(url).status_code == 200


def test_a_wrong_password_is_explained_and_keeps_the_username(contact_a):
    visitor = browser()
    form = page_form(visitor.get(SIGN_IN))

    response = fill(form, {"username": "alice", "password": "not the password"}).submit()

    assert response.status_code == 200
    assert "Please enter a correct username and password." in page_text(response)
    assert page_form(response)["username"].value == "alice"
    assert page_form(response)["password"].value == ""
    assert_sent_to_sign_in(visitor.get("/me/"), "/me/")


def test_signing_out_by_post(contact_a):
    alice = browser(contact_a)
    page = alice.get("/me/")
    assert page.status_code == 200
    assert alice.get("/accounts/logout/", status=405).status_code == 405  # a link cannot
    assert alice.get("/me/").status_code == 200

    response = sign_out_form(page).submit()

    assert response.status_code == 302
    assert response.url == "/"
    assert_sent_to_sign_in(alice.get("/me/"), "/me/")


def test_sign_out_without_csrf_token_is_refused(contact_a, site_a):
    alice = browser(contact_a)
    page = alice.get("/me/")

    assert alice.post("/accounts/logout/", status=403).status_code == 403
    assert alice.get("/me/").status_code == 200  # still signed in
    assert sign_out_form(page).submit().status_code == 302
    assert_sent_to_sign_in(alice.get("/me/"), "/me/")


def reset_link(mail) -> str:
    return re.search(r"http://testserver(/accounts/reset/\S+/\S+/)", mail.body).group(1)


def test_a_forgotten_password_is_reset_through_a_mailed_link(client, contact_a, mailoutbox):
    visitor = browser()
    form = page_form(visitor.get("/accounts/password_reset/"))
    response = fill(form, {"email": "alice@site-a.example.org"}).submit()
    assert response.status_code == 302
    assert response.url == "/accounts/password_reset/done/"

    [mail] = mailoutbox
    assert mail.to == ["alice@site-a.example.org"]
    set_password = visitor.get(reset_link(mail)).maybe_follow()
    assert set_password.status_code == 200
    assert "Choose a new password" in page_text(set_password)
    new_password = "apptainer everywhere by spring"
    done = fill(page_form(set_password), {"new_password1": new_password,
                                          "new_password2": new_password}).submit().follow()
    assert "Password set" in page_text(done)

    assert client.post(SIGN_IN, {"username": "alice", "password": PASSWORD}).status_code == 200
    signed = client.post(SIGN_IN, {"username": "alice", "password": new_password})
    assert (signed.status_code, signed.url) == (302, "/me/")


def test_a_used_password_reset_link_says_so(contact_a, mailoutbox):
    visitor = browser()
    fill(page_form(visitor.get("/accounts/password_reset/")),
         {"email": "alice@site-a.example.org"}).submit()
    link = reset_link(mailoutbox[0])
    fill(page_form(visitor.get(link).maybe_follow()), {
        "new_password1": "apptainer everywhere 7",
        "new_password2": "apptainer everywhere 7"}).submit()
    other = Client(raise_request_exception=False)

    used = other.get(link, follow=True)

    assert used.status_code == 200
    assert "This link has expired or was used already." in page_text(used)


def test_read_requires_login_sends_anonymous_readers_to_sign_in(settings, site_a, contact_a):
    require_sign_in(settings)
    anonymous = Client()

    for url in ("/", "/sites/", site_a.get_absolute_url(), "/changes/", "/scenarios/"):
        assert_sent_to_sign_in(anonymous.get(url), url)
    assert anonymous.get(SIGN_IN).status_code == 200
    assert anonymous.get("/accounts/password_reset/").status_code == 200
    signed = anonymous.post(SIGN_IN, {"username": "alice", "password": PASSWORD})
    assert (signed.status_code, signed.url) == (302, "/me/")
    for url in ("/", "/sites/", site_a.get_absolute_url()):
        assert anonymous.get(url).status_code == 200, url


def test_guessing_passwords_locks_the_account_out_for_a_while(contact_a, contact_b):
    visitor = browser()
    for _guess in range(25):
        fill(page_form(visitor.get(SIGN_IN)),
             {"username": "alice", "password": "guess"}).submit(expect_errors=True)

    right = fill(page_form(visitor.get(SIGN_IN)),
                 {"username": "alice", "password": PASSWORD}).submit(expect_errors=True)

    assert right.status_code == 429
    assert "Sign-in locked for a while" in page_text(right)
    assert "signing in as alice from here is locked for 15 minutes" in page_text(right)
    assert_sent_to_sign_in(visitor.get("/me/"), "/me/")
    # Another account from the same address still signs in.
    other = fill(page_form(visitor.get(SIGN_IN)), {"username": "bob", "password": PASSWORD})
    assert other.submit().status_code == 302


def test_the_lockout_ends_after_its_time(contact_a):
    visitor = browser()
    for _guess in range(5):
        fill(page_form(visitor.get(SIGN_IN)),
             {"username": "alice", "password": "guess"}).submit(expect_errors=True)
    with time_machine.travel(datetime.timedelta(minutes=16)):
        right = fill(page_form(visitor.get(SIGN_IN)),
                     {"username": "alice", "password": PASSWORD}).submit()
    assert (right.status_code, right.url) == (302, "/me/")


def test_a_wrong_password_or_two_does_not_lock_anyone_out(contact_a):
    visitor = browser()
    for _guess in range(4):
        fill(page_form(visitor.get(SIGN_IN)),
             {"username": "alice", "password": "guess"}).submit()
    right = fill(page_form(visitor.get(SIGN_IN)), {"username": "alice", "password": PASSWORD})
    assert right.submit().status_code == 302
