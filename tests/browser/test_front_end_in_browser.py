"""The pages under their Content-Security-Policy, and laid out for a laptop, in a real Chromium."""

import pytest
from playwright.sync_api import Error, Page, expect

from ..helpers import csp_directives

pytestmark = pytest.mark.django_db(transaction=True)

CHART_PAGES = {
    "/": ["#chart-alice", "#chart-atlas", "#chart-cms", "#chart-lhcb"],
    "/experiments/cms/": ["#chart-scenarios"],
    "/experiments/alice/migrations/alien-to-jalien/": ["#chart-migration"],
}


def test_charts_draw_under_the_policy_which_refuses_an_inline_script(
        live_demo, watched_page: Page):
    page = watched_page
    for path, charts in CHART_PAGES.items():
        response = page.goto(f"{live_demo.url}{path}")
        policy = csp_directives(response.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"]
        for chart in charts:
            expect(page.locator(f"{chart} .main-svg").first).to_be_visible()
    assert page.console_errors == [], "plotly.js needs nothing the policy refuses"

    # The migration chart's toolbar: plotly.js draws the PNG through a blob: image.
    page.locator("#chart-migration").hover()
    with page.expect_download() as download:
        page.locator("#chart-migration .modebar-btn[data-title='Download plot as a PNG']").click()
    assert download.value.suggested_filename.endswith(".png")

    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="window.injected = true;")
    assert page.evaluate("window.injected") is None


def test_the_sites_table_fits_a_1440_pixel_window(live_demo, watched_page: Page):
    page = watched_page
    page.set_viewport_size({"width": 1440, "height": 900})
    for query in ["", "?per_page=500"]:
        page.goto(f"{live_demo.url}/sites/{query}")
        table = page.locator("table.sites")
        expect(table.locator("thead th").last).to_have_text("Last update")
        widths = table.evaluate("(table) => [table.scrollWidth, table.parentElement.clientWidth]")
        assert widths[0] <= widths[1], f"/sites/{query}: {widths[0]} px in {widths[1]} px"
        assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    assert page.console_errors == []
