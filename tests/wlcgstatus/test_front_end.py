"""The front end: a strict Content-Security-Policy, no inline script (charts are drawn by one
script file from JSON the page holds), and forms whose help and errors are where their fields'
aria-describedby says."""

import json
import os
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.templatetags.static import static

from experiments.models import COMPLIANCE_COLOURS, Compliance, Experiment

from ..helpers import csp_directives

PAGES = [
    "/", "/sites/", "/sites/?experiment=cms&compliance=non_compliant", "/sites/SITE-A/",
    "/experiments/cms/", "/experiments/alice/migrations/alien-to-jalien/", "/scenarios/",
    "/changes/", "/reports/", "/accounts/login/",
]
SIGNED_IN_PAGES = ["/me/", "/sites/SITE-A/capabilities/", "/sites/SITE-A/tokens/"]
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"  # of ""
CAPABILITIES = "/sites/SITE-A/capabilities/"


def policy(response) -> dict[str, list[str]]:
    return csp_directives(response.headers["Content-Security-Policy"])


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.content, "html.parser")


def assert_no_inline_code(html: BeautifulSoup, path: str) -> None:
    """No script but from a file or data for one, no event handler attribute, no <style>."""
    for script in html.find_all("script"):
        assert script.get("src") or script.get("type") == "application/json", (path, script)
    for element in html.find_all(True):
        handlers = [name for name in element.attrs if name.startswith("on")]
        assert not handlers, (path, element.name, handlers)
    assert not html.find_all("style"), path


# --- the Content-Security-Policy ---------------------------------------------------------------

def test_every_page_sends_a_strict_content_security_policy(client, site_a):
    for path in PAGES:
        sent = policy(client.get(path))
        assert sent == {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            # plotly.js fills empty <style> elements through the CSSOM; none may hold text.
            "style-src": ["'self'", EMPTY_STYLE],
            # The scenario and compliance colours: style="--c: #rrggbb".
            "style-src-attr": ["'unsafe-inline'"],
            "img-src": ["'self'", "data:", "blob:"],  # blob: for a chart's PNG download
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "frame-ancestors": ["'none'"],
            "form-action": ["'self'"],
        }, path


def test_no_page_holds_an_inline_script_or_style(client, site_a, contact_a):
    for path in PAGES:
        assert_no_inline_code(page(client.get(path)), path)
    client.force_login(contact_a)
    for path in [*PAGES, *SIGNED_IN_PAGES]:
        assert_no_inline_code(page(client.get(path)), path)


def test_the_api_docs_load_their_script_from_a_file(client, reference):
    html = page(client.get("/api/docs/"))
    assert_no_inline_code(html, "/api/docs/")
    start_up = [script["src"] for script in html.find_all("script") if "script" in script["src"]]
    assert len(start_up) == 1
    script = client.get(start_up[0])
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_the_browsable_api_holds_no_inline_style(client, reference):
    response = client.get("/api/sites/", headers={"accept": "text/html"})
    assert "Content-Security-Policy" in response.headers
    assert_no_inline_code(page(response), "/api/sites/")


# --- charts --------------------------------------------------------------------------------------

def figure_of(html: BeautifulSoup, chart_id: str) -> dict:
    """The figure charts.js draws into the element `chart_id`, as the page holds it."""
    chart = html.find(id=chart_id)
    assert "plotly-chart" in chart["class"]
    data = html.find(id=chart["data-figure"])
    assert data.name == "script" and data["type"] == "application/json"
    return json.loads(data.string)


def chart_scripts(html: BeautifulSoup) -> list[tuple[str, bool]]:
    return [(script["src"], script.has_attr("defer"))
            for script in html.find_all("script", src=True)]


def test_the_overview_holds_each_experiments_figure_for_charts_js(client, site_a):
    html = page(client.get("/"))
    assert chart_scripts(html) == [(static("vendor/plotly.min.js"), True),
                                   (static("charts.js"), True)]
    for experiment in Experiment.objects.all():
        figure = figure_of(html, f"chart-{experiment.slug}")
        assert figure["config"]["displayModeBar"] is False
        links = [url for trace in figure["data"] for url in trace["customdata"]]
        assert all(url.startswith(f"/sites/?experiment={experiment.slug}&") for url in links)
    cms = figure_of(html, "chart-cms")
    assert [trace["name"] for trace in cms["data"]] == ["Not isolated"]  # SITE-A's, for CMS


def test_the_migration_page_draws_its_chart_like_the_others(client, site_a):
    html = page(client.get("/experiments/alice/migrations/alien-to-jalien/"))
    assert chart_scripts(html) == [(static("vendor/plotly.min.js"), True),
                                   (static("charts.js"), True)]
    figure = figure_of(html, "chart-migration")
    assert figure["config"]["displayModeBar"] is True
    # Its first step in the target's colour, the colour the stylesheet and the reports use.
    assert figure["data"][0]["line"]["color"] == COMPLIANCE_COLOURS[Compliance.TARGET]
    assert html.select_one("figure.chart details.chart-table table")


def test_the_compliance_colours_reach_the_stylesheet_from_one_definition(client, reference):
    body = page(client.get("/scenarios/")).body
    for compliance, colour in COMPLIANCE_COLOURS.items():
        assert f"--{compliance.value.replace('_', '-')}: {colour}" in body["style"]
    css = (settings.BASE_DIR / "static" / "wlcgstatus.css").read_text()
    assert COMPLIANCE_COLOURS[Compliance.TARGET] not in css


# --- forms ---------------------------------------------------------------------------------------

def assert_described_by_what_is_there(html: BeautifulSoup) -> None:
    described = html.select("[aria-describedby]")
    assert described
    for element in described:
        for target in element["aria-describedby"].split():
            assert html.find(id=target), (element.get("name"), target)


def test_every_field_is_described_by_help_the_page_holds(client, contact_a):
    client.force_login(contact_a)
    html = page(client.get(CAPABILITIES))
    assert_described_by_what_is_there(html)
    version = html.find(id="id_container_runtime_version")
    assert version["aria-describedby"] == "id_container_runtime_version_helptext"
    assert not html.select("[aria-invalid]")


@pytest.mark.parametrize(("entries", "field", "inputs"), [
    pytest.param({"container_runtime": "none", "container_runtime_version": "3.8.7"},
                 "container_runtime_version", "#id_container_runtime_version", id="text"),
    pytest.param({"cvmfs": "maybe"}, "cvmfs", "input[name=cvmfs]", id="radio-buttons"),
])
def test_a_field_with_an_error_is_marked_invalid_and_described_by_it(
        client, contact_a, entries, field, inputs):
    client.force_login(contact_a)
    sent = client.get(CAPABILITIES).context["form"].initial
    html = page(client.post(CAPABILITIES, {**sent, **entries, "preview": "1"}))

    assert_described_by_what_is_there(html)
    marked = html.select(inputs)
    assert marked and all(element.get("aria-invalid") == "true" for element in marked)
    assert len(html.select("[aria-invalid]")) == len(marked)
    described = html.find(id=f"id_{field}").find_parent("fieldset") or html.find(id=f"id_{field}")
    assert f"id_{field}_error" in described["aria-describedby"].split()


def test_an_unusable_filter_is_marked_invalid_and_described_by_its_error(client, reference):
    html = page(client.get("/sites/", {"country": "Atlantis", "kind": "mainframe"}))
    assert_described_by_what_is_there(html)
    for field in ("country", "kind"):
        widget = html.find(id=f"id_{field}")
        assert widget["aria-invalid"] == "true"
        assert f"id_{field}_error" in widget["aria-describedby"].split()


def test_with_single_sign_on_a_sign_in_may_go_on_to_the_provider():
    """Settings read the environment once: a process of their own, as a deployment sets it."""
    environment = {**os.environ, "OIDC_RP_CLIENT_ID": "wlcgstatus",
                   "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example.org/realms/x/auth"}
    read = subprocess.run(
        [sys.executable, "-c", "from wlcgstatus import settings; "
                               "print(*settings.CONTENT_SECURITY_POLICY['DIRECTIVES']"
                               "['form-action'])"],
        env=environment, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True)
    assert read.stdout.split() == ["'self'", "https://sso.example.org"]
