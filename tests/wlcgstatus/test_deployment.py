"""The production environment as deploy/production.env documents it: settings from the
environment only, behind a proxy that terminates TLS, DEBUG off, errors logged."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from ..factories.accounts import PASSWORD, UserFactory
from ..helpers import database_url, production_environment

pytestmark = pytest.mark.backend_independent  # settings and processes, whatever the database

PUBLIC = "https://wlcgstatus.example.org"


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_deployment_check_is_clean_under_the_documented_environment(reference):
    # On the test database: the API schema's check reads the capability definitions.
    run = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                          "WARNING"], cwd=settings.BASE_DIR,
                         env=production_environment(DATABASE_URL=database_url()),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout


def test_without_a_secret_key_production_refuses_to_start():
    env = production_environment()
    del env["SECRET_KEY"]
    run = run_python("import django; django.setup()", env)
    assert run.returncode != 0
    assert "Set the SECRET_KEY environment variable" in run.stderr


def test_a_half_configured_single_sign_on_is_a_check_error():
    env = production_environment(OIDC_RP_CLIENT_ID="wlcgstatus",
                                 OIDC_OP_AUTHORIZATION_ENDPOINT="https://sso.example.org/auth")
    run = subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "wlcgstatus.E001" in run.stderr
    assert ("OIDC_RP_CLIENT_SECRET, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, "
            "OIDC_OP_JWKS_ENDPOINT are not") in run.stderr


# A request that fails: the database is unreachable (a closed port), as when PostgreSQL is down.
FAILING_REQUEST = """
import django
django.setup()
from django.core import mail
from django.test import Client
response = Client(raise_request_exception=False).get("/", headers={"x-forwarded-proto": "https"})
print(response.status_code)
print(response.content.decode())
print("mailed:", len(getattr(mail, "outbox", [])))
"""


def test_a_server_error_shows_no_traceback_and_is_logged_and_mailed():
    env = production_environment(
        DATABASE_URL="postgres://nobody@127.0.0.1:9/none", REDIS_URL="",
        ALLOWED_HOSTS="testserver", SITE_URL="https://testserver",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    run = run_python(FAILING_REQUEST, env)

    assert run.returncode == 0, run.stderr
    status, *lines, mailed = run.stdout.splitlines()
    assert status == "500"
    page = "\n".join(lines)
    assert "Something went wrong" in page
    assert "Traceback" not in page and "OperationalError" not in page  # DEBUG is off
    assert "ERROR django.request" in run.stderr and "Internal Server Error: /" in run.stderr
    assert "OperationalError" in run.stderr  # the traceback, for whoever reads the logs
    assert mailed == "mailed: 1"  # to ADMINS


SETTINGS_BEHIND_THE_PROXY = ("SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS",
                             "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
                             "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "ALLOWED_HOSTS",
                             "DEBUG")


@pytest.fixture
def behind_the_proxy(settings):
    """This process configured as the documented environment configures production."""
    run = run_python("import django, json; django.setup(); from django.conf import settings; "
                     f"print(json.dumps({{n: getattr(settings, n) for n in "
                     f"{SETTINGS_BEHIND_THE_PROXY!r}}}))", production_environment())
    assert run.returncode == 0, run.stderr
    production = json.loads(run.stdout)
    assert production["DEBUG"] is False
    production["SECURE_PROXY_SSL_HEADER"] = tuple(production["SECURE_PROXY_SSL_HEADER"])
    for name, value in production.items():
        setattr(settings, name, value)
    return production


def test_signing_in_through_the_tls_proxy_works(client, behind_the_proxy, db):
    UserFactory(username="contact")
    client.handler.enforce_csrf_checks = True
    proxied = {"headers": {"x-forwarded-proto": "https", "origin": PUBLIC,
                           "referer": f"{PUBLIC}/accounts/login/"},
               "HTTP_HOST": "wlcgstatus.example.org"}

    page = client.get("/accounts/login/", **proxied)
    assert page.status_code == 200
    assert "max-age=31536000" in page["Strict-Transport-Security"]
    signed_in = client.post("/accounts/login/", {
        "username": "contact", "password": PASSWORD,
        "csrfmiddlewaretoken": page.context["csrf_token"]}, **proxied)

    assert signed_in.status_code == 302, signed_in.content.decode()[:500]
    assert signed_in.cookies["sessionid"]["secure"]
    # Plain HTTP reaching the dashboard (a client past the proxy) is sent to HTTPS.
    plain = client.get("/", HTTP_HOST="wlcgstatus.example.org")
    assert plain.status_code == 301
    assert plain["Location"] == f"{PUBLIC}/"
