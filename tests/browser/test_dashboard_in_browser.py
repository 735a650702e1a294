"""The dashboard as a WG member uses it, in a real Chromium."""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from experiments.models import Experiment
from sites.models import Assessment

from ..helpers import charts_drawn

pytestmark = pytest.mark.django_db(transaction=True)


def test_overview_draws_a_chart_per_experiment_offline(live_demo, watched_page: Page):
    page = watched_page
    page.goto(f"{live_demo.url}/")

    for experiment in Experiment.objects.all():
        chart = page.locator(f"#chart-{experiment.slug}")
        expect(chart.locator(".main-svg").first).to_be_visible()
        bars = chart.locator("g.trace.bars path")
        assert bars.count() == (Assessment.objects.filter(experiment=experiment)
                                .values("scenario").distinct().count())
    assert page.console_errors == []
    assert page.foreign_requests == []


def test_clicking_a_bar_opens_the_sites_behind_it(live_demo, watched_page: Page):
    page = watched_page
    page.goto(f"{live_demo.url}/")
    not_isolated = Assessment.objects.filter(experiment__slug="cms",
                                             scenario__slug="not-isolated").count()
    assert not_isolated > 0

    # The CMS bar's segments are drawn best scenario first: “not isolated” is the last one.
    segment = page.locator("#chart-cms g.trace.bars path").last
    segment.scroll_into_view_if_needed()
    box = segment.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.wait_for_url(re.compile(r"/sites/\?experiment=cms&scenario=not-isolated"))
    expect(page.locator("h1")).to_have_text("Sites")
    expect(page.locator("table.sites tbody tr")).to_have_count(not_isolated)
    assert page.console_errors == []


def test_filtering_then_exporting_the_filtered_rows(live_demo, watched_page: Page):
    page = watched_page
    page.goto(f"{live_demo.url}/sites/")
    page.select_option("#id_experiment", "lhcb")
    page.select_option("#id_compliance", "non_compliant")
    page.get_by_role("button", name="Filter").click()

    page.wait_for_url(re.compile(r"experiment=lhcb.*compliance=non_compliant"))
    expected = sorted(Assessment.objects.filter(experiment__slug="lhcb",
                                                scenario__compliance="non_compliant")
                      .values_list("site__name", flat=True))
    names = page.locator("table.sites tbody tr td:first-child").all_inner_texts()
    assert sorted(names) == expected

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    with open(download.value.path(), newline="") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert sorted(row["Site"] for row in rows) == expected
    assert {row["LHCb"] for row in rows} == {"Payloads not isolated"}
    assert page.console_errors == []
    assert page.foreign_requests == []


def test_every_page_loads_without_console_errors(live_demo, watched_page: Page):
    page = watched_page
    paths = ["/", "/sites/", "/sites/FZK-LCG2/", "/scenarios/",
             "/experiments/alice/migrations/alien-to-jalien/"]
    paths += [f"/experiments/{slug}/" for slug in
              Experiment.objects.values_list("slug", flat=True)]
    for path in paths:
        response = page.goto(f"{live_demo.url}{path}")
        assert response.status == 200, path
        charts_drawn(page)
    assert page.console_errors == []
    assert page.foreign_requests == []
