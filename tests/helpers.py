"""What the tests share: browsers and clients signed in as someone, pages read as a reader
reads them, the Markdown report read part by part, days and clocks, and what the database holds
for a site."""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
from urllib.parse import urlencode

import time_machine
from bs4 import BeautifulSoup, Tag
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_webtest import DjangoTestApp
from webtest.forms import Form

from sites.models import Assessment, AssessmentChange, CapabilityValue, Site, SiteException
from wlcgstatus.models import Report

from .settings import SUITE_ENVIRONMENT

SIGN_IN = "/accounts/login/"
SITES = "/sites/"
LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"
REPORT_TITLE = "WLCG Traceability and Isolation WG: Current status"


# --- browsers and clients -----------------------------------------------------------------------

def signed_in(user, **kwargs) -> Client:
    """Django's test client of its own, signed in as `user`: for requests no page's form
    would make (another site's URL, a forged value, a missing token)."""
    client = Client(**kwargs)
    client.force_login(user)
    return client


def browser(user=None) -> DjangoTestApp:
    """A browser of its own (django-webtest): it keeps its cookies, sends the CSRF token only
    where a page's form holds one, and fills and submits forms as a user does. Signed in as
    `user` when given, with the session a sign-in would have made."""
    app = DjangoTestApp()
    if user is not None:
        session = signed_in(user).cookies[settings.SESSION_COOKIE_NAME].value
        app.set_cookie(settings.SESSION_COOKIE_NAME, session)
    return app


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header's directives and their sources, in whatever order."""
    return {name: sources for name, *sources in (part.split() for part in header.split(";"))}


def charts_drawn(page) -> None:
    """In a real browser (Playwright): wait until plotly.js has drawn every chart of the page."""
    page.wait_for_function("""() => [...document.querySelectorAll(".plotly-chart")]
        .every((chart) => chart.classList.contains("js-plotly-plot"))""")


def page_form(response) -> Form:
    """The page's own form: the one posting back to the page, not the header's sign-out form
    nor a row's revoke button."""
    every = [form for key, form in response.forms.items() if isinstance(key, int)]
    forms = [form for form in every if form.method.lower() == "post" and not form.action]
    assert len(forms) == 1, [form.text[:200] for form in every]
    return forms[0]


def fill(form: Form, entries: dict) -> Form:
    """Enter each value in its field, as a user picks or types it."""
    for name, value in entries.items():
        form[name] = value
    return form


def save_capabilities(visitor: DjangoTestApp, site: Site, entries: dict | None = None):
    """What a user does to change a site's capabilities: open the form, enter `entries`,
    preview, then save. Returns the answer to the save."""
    form = fill(page_form(visitor.get(capabilities_url(site))), entries or {})
    previewed = page_form(form.submit("preview"))
    assert "save" in previewed.fields, "no Save button: the preview refused the entries"
    return previewed.submit("save")


def get_ok(client, url: str, data: dict | None = None):
    response = client.get(url, data or {})
    assert response.status_code == 200, f"{url} {data or ''} -> {response.status_code}"
    if response["Content-Type"].startswith("text/html"):
        content = response.content.decode()
        # A template comment or tag written over several lines shows as text instead.
        assert "{#" not in content and "{%" not in content, f"{url}: template syntax shown"
    return response


def get_json(client: Client, url: str, data: dict | None = None, status: int = 200):
    response = client.get(url, data or {}, HTTP_ACCEPT="application/json")
    assert response.status_code == status, f"{url} {data} -> {response.status_code}: " \
                                           f"{response.content[:500]}"
    return response.json()


def post_values(key: str | None, site: str, body, client: Client | None = None):
    """A capability report to the API, with the token `key` (none if None)."""
    headers = {"Authorization": f"Token {key}"} if key else {}
    return (client or Client()).post(
        f"/api/sites/{site}/capabilities/",
        data=json.dumps(body) if not isinstance(body, str) else body,
        content_type="application/json", headers=headers)


def request_report(client: Client, callbacks, **data) -> Report:
    """POST the report form as the signed-in user; the task runs once the request commits.
    `callbacks` is pytest-django's django_capture_on_commit_callbacks."""
    with callbacks(execute=True):
        response = client.post("/reports/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    report = Report.objects.get()
    assert response["Location"] == f"/reports/{report.pk}/"
    return report


def download(client: Client, report: Report) -> bytes:
    response = client.get(f"/reports/{report.pk}/download/")
    assert response.status_code == 200
    # Reading the stream to its end closes the file, as a WSGI server would.
    return b"".join(response.streaming_content)


def listed(client, query: dict | str = "") -> list[str]:
    """The names of every site the sites table lists for this query, all pages, in order."""
    url = f"{SITES}?{query}" if isinstance(query, str) else f"{SITES}?{urlencode(query, True)}"
    response = get_ok(client, url)
    return [record.name for record in response.context["table"].data]


def assert_sent_to_sign_in(response, path: str) -> None:
    assert response.status_code == 302, response.status_code
    assert response.url == f"{SIGN_IN}?next={path}"


def require_sign_in(django_settings) -> None:
    """The dashboard as READ_REQUIRES_LOGIN makes it: every page behind a sign-in.
    `django_settings` is pytest-django's `settings` fixture, which undoes this after the test."""
    middleware = list(django_settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        LOGIN_REQUIRED)
    django_settings.MIDDLEWARE = middleware


# --- URLs of the forms ----------------------------------------------------------------------------

def capabilities_url(site: Site) -> str:
    return f"/sites/{site.name}/capabilities/"


def grant_url(site: Site) -> str:
    return f"/sites/{site.name}/exceptions/new/"


def renew_url(exception: SiteException) -> str:
    return f"/exceptions/{exception.pk}/renew/"


def revoke_url(exception: SiteException) -> str:
    return f"/exceptions/{exception.pk}/revoke/"


# --- pages as a reader reads them ---------------------------------------------------------------

def soup(response) -> BeautifulSoup:
    """The page parsed, from a test client's response or a browser's."""
    return BeautifulSoup(response.content, "html.parser")


def text_of(element: Tag) -> str:
    """An element as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    return " ".join(element.get_text(" ").split())


def page_text(response) -> str:
    """The whole page as a reader sees it, without its scripts and styles."""
    page = soup(response)
    for hidden in page(["script", "style"]):
        hidden.decompose()
    return text_of(page)


def field_error(response, field: str) -> str:
    """The error shown under one field of the page's form, if any."""
    error = soup(response).find(id=f"id_{field}_error")
    return text_of(error) if error else ""


def history_of(site: Site) -> str:
    """The address of the site's history page."""
    return reverse("sites:site_history", args=[site.name])


def history_rows(response) -> list[list[str]]:
    """The change history table, a list of cell texts per row, without the time column."""
    rows = soup(response).select_one("table.history").find_all("tr")
    return [[text_of(cell) for cell in cells[1:]]
            for cells in (row.find_all("td") for row in rows) if cells]


# --- the Markdown report, part by part ----------------------------------------------------------

def plain(text: str) -> str:
    """Markdown text as read: emphasis markers dropped, whitespace collapsed."""
    return " ".join(text.replace("*", "").split())


def section(markdown: str, experiment: str) -> str:
    """One experiment's part of the Markdown report, from its heading to the next."""
    match = re.search(rf"^## {re.escape(experiment)}\n(.*?)(?=^## |\Z)", markdown,
                      re.MULTILINE | re.DOTALL)
    assert match, f"no section for {experiment} in the report"
    return match.group(1)


def subsection(text: str, heading: str) -> str:
    """A `### heading…` part of a section, up to the next such heading."""
    match = re.search(rf"^### {re.escape(heading)}[^\n]*\n(.*?)(?=^### |\Z)", text,
                      re.MULTILINE | re.DOTALL)
    assert match, f"no “{heading}” heading in:\n{text}"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in the text, cell by cell."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [row for row in rows if row[0] not in ("Scenario", "Site")]  # headers


def bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


# --- days and clocks ------------------------------------------------------------------------------

STORY_START = datetime.date(2026, 3, 1)  # “day 1” of the tests that let days pass


def day(offset: int | None, start: datetime.date | None = None) -> datetime.date | None:
    """The day `offset` days after `start` (today by default); None, an open end, stays None."""
    if offset is None:
        return None
    return (start or timezone.localdate()) + datetime.timedelta(days=offset)


def story_day(n: int) -> datetime.date:
    """Day n of a test's story, day 1 being STORY_START."""
    return day(n - 1, STORY_START)


def on(date: datetime.date, hour: int = 12):
    """The clock stopped at that hour of that day (UTC, the project's time zone)."""
    return time_machine.travel(
        datetime.datetime.combine(date, datetime.time(hour), tzinfo=datetime.UTC), tick=False)


# --- what the database holds for a site ---------------------------------------------------------

def reported_values(site: Site) -> dict[str, tuple]:
    """The site's capability values by key: value, source, reporter's id, time reported."""
    return {v.capability.key: (v.value, v.source, v.reported_by_id, v.reported_at)
            for v in CapabilityValue.objects.filter(site=site).select_related("capability")}


def values_of(site: Site) -> dict[str, str]:
    """The site's capability values by key."""
    return {key: value for key, (value, *_rest) in reported_values(site).items()}


def stored(site: Site) -> dict:
    """Everything a refused request must leave as it was: the site's values with who reported
    them and when, their history, its assessments and their changes, its exceptions and
    their history."""
    return {
        "values": reported_values(site),
        "value_history": CapabilityValue.history.filter(site_id=site.pk).count(),
        "assessments": sorted(Assessment.objects.filter(site=site).values_list(
            "experiment__slug", "scenario__slug", "exception", "reason")),
        "assessment_changes": AssessmentChange.objects.filter(site=site).count(),
        "exceptions": sorted(SiteException.objects.filter(site=site).values_list(
            "id", "kind", "reason", "granted_by", "granted_on", "expires_on", "revoked_on")),
        "exception_history": SiteException.history.filter(site_id=site.pk).count(),
    }


def messages_of(error: ValidationError, field: str) -> list[str]:
    """What model validation says of one field."""
    return error.message_dict[field]


def scenario_of(site: Site, experiment: str) -> str | None:
    """The slug of the scenario the site's assessment for the experiment holds, if any."""
    assessment = Assessment.objects.select_related("scenario").get(
        site=site, experiment__slug=experiment)
    return assessment.scenario.slug if assessment.scenario else None


# --- other processes ----------------------------------------------------------------------------

def database_url() -> str:
    """The test database, as another process (a worker, a command) must reach it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def production_environment(**overrides: str) -> dict[str, str]:
    """The documented file's values, a real key filled in, as the whole configuration: none
    of the names the suite pins (tests/settings.py), no developer's .env. The rest of the
    environment stays (where packages are installed from, certificates), but no DJANGO_*
    switch: the browser tests allow async-unsafe calls, which the deployment check refuses."""
    documented = {}
    for line in (settings.BASE_DIR / "deploy" / "production.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            documented[name] = value
    documented["SECRET_KEY"] = secrets.token_urlsafe(50)
    inherited = {name: value for name, value in os.environ.items()
                 if name not in SUITE_ENVIRONMENT and not name.startswith(("OIDC_", "DJANGO_"))}
    return {**inherited, **documented, "ENV_FILE": os.devnull,
            "DJANGO_SETTINGS_MODULE": "wlcgstatus.settings", **overrides}
