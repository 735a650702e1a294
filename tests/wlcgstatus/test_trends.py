"""Trends: an experiment's compliance classes and a migration's sites still to go, over time,
drawn from the daily counts, with today's live figures as their last point."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments.models import Migration
from sites.management.commands.build_demo_fixture import HISTORY_START
from sites.models import SiteMigration

from ..factories.sites import make_site, singularity_deployed_on
from ..helpers import get_ok, history_rows, on, soup, story_day, text_of


def backfill(*args: str) -> str:
    out = io.StringIO()
    call_command("backfill_snapshots", *args, stdout=out)
    return out.getvalue()


def lines(chart) -> dict[str, dict]:
    return {trace["name"]: trace for trace in chart.figure["data"] if trace.get("name")}


def test_the_experiment_page_draws_its_classes_over_time(client, reference):
    singularity_deployed_on(5)
    with on(story_day(8)):
        assert "Snapshots of 7 days stored" in backfill(story_day(1).isoformat(),
                                                        "--until", story_day(7).isoformat())
        response = get_ok(client, "/experiments/cms/")
        make_site("CH-LATE", serves=("cms",))  # joins today: only the live figure has it
        response = get_ok(client, "/experiments/cms/")

    trend = response.context["trend"]
    # Only the days where a count changed, and today: day 5 (the change) and day 8 (a join).
    assert trend.days == [story_day(1), story_day(5), story_day(8)]
    assert trend.lines["Target"] == [1, 2, 2]
    assert trend.lines["Non-compliant"] == [1, 0, 0]
    assert trend.lines["Unknown"] == [0, 0, 1]
    chart = lines(response.context["figures"].trend_chart)
    assert list(chart) == ["Target", "Acceptable", "Interim", "Non-compliant", "Unknown"]
    assert chart["Target"]["y"] == [1, 2, 2] and chart["Target"]["stackgroup"]
    assert chart["Unknown"]["customdata"][0] == "/sites/?experiment=cms&compliance=unknown"
    # The same figures as a table, newest day first.
    content = response.content.decode()
    section = content[content.index("Compliance over time"):content.index("<h2>Policy")]
    table = section[section.index("Show as a table"):]
    assert table.index(story_day(8).isoformat()) < table.index(story_day(1).isoformat())


def test_a_migration_burndown_counts_the_sites_still_to_go(client, reference):
    singularity_deployed_on(3)
    with on(story_day(4)):
        backfill(story_day(1).isoformat())
        response = get_ok(client, "/experiments/cms/migrations/singularity-rollout/")

    trend = response.context["trend"]
    (step,) = trend.lines
    assert trend.days == [story_day(1), story_day(3), story_day(4)]
    assert trend.lines[step] == [1, 0, 0]
    assert "sites to go" in lines(response.context["chart"])[step]["hovertemplate"]


def test_the_demo_alice_burndown_falls_as_sites_recorded_their_steps(client, demo):
    # The demo's ALICE sites recorded their steps in 2021-2023, though loaded today: the
    # counts rebuilt for those years follow the days the steps give.
    backfill("2021-01-01", "--until", "2023-12-31")
    migration = Migration.objects.get(slug="alien-to-jalien")
    response = get_ok(client, migration.get_absolute_url())
    first_step = response.context["trend"].lines["JAliEn services deployed at the site"]
    days = response.context["trend"].days
    assert days[0] < datetime.date(2022, 1, 1) and len(days) > 10  # a fall, not one jump
    assert first_step == sorted(first_step, reverse=True)  # nobody went back in the demo
    done = SiteMigration.objects.filter(migration=migration,
                                        completed_step__position__gte=1).count()
    assert first_step[-1] == response.context["summary"].total - done


def test_without_daily_counts_the_page_says_how_to_get_them(client, reference):
    make_site("CH-ONE", serves=("atlas",), container_runtime="singularity")
    content = get_ok(client, "/experiments/atlas/").content.decode()
    assert "No daily counts are stored before today yet" in content
    assert "backfill_snapshots" in content


@pytest.mark.parametrize("url", ["/experiments/cms/",
                                 "/experiments/cms/migrations/singularity-rollout/"])
def test_a_trend_costs_the_same_queries_for_a_day_or_a_year(client, reference, url):
    today = story_day(366)
    with on(story_day(1)):
        make_site("CH-ONE", serves=("cms",), container_runtime="singularity")
    with on(today):
        backfill(story_day(365).isoformat())
        get_ok(client, url)
        with CaptureQueriesContext(connection) as one_day:
            get_ok(client, url)
        backfill(story_day(1).isoformat())
        for n in range(3):
            make_site(f"CH-MORE-{n}", serves=("cms",), container_runtime="none")
        get_ok(client, url)
        with CaptureQueriesContext(connection) as a_year:
            response = get_ok(client, url)
    assert len(a_year) == len(one_day)
    assert len(response.context["trend"].days) == 2  # the year's first day, and today's joins


def test_backfill_refuses_a_range_it_cannot_count(reference):
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    with pytest.raises(CommandError, match="is in the future"):
        backfill("2026-01-01", "--until", tomorrow.isoformat())
    with pytest.raises(CommandError, match="is after"):
        backfill("2026-02-01", "--until", "2026-01-01")


def test_the_demo_has_a_year_of_history_to_draw(client, demo):
    trend = get_ok(client, "/experiments/cms/").context["trend"]
    assert trend.days[0] == HISTORY_START and len(trend.days) > 10
    target, not_isolated = trend.lines["Target"], trend.lines["Non-compliant"]
    assert target[0] < target[-1] and not_isolated[0] > not_isolated[-1]

    # A site that deployed its runtime during the year shows it on the day it reported it.
    with open(Path(settings.BASE_DIR) / "fixtures" / "demo-history.json") as f:
        report = json.load(f)["reports"][0]
    response = get_ok(client, f"/sites/{report['site']}/history/")
    runtime = report["values"]["container_runtime"]
    assert ["system", "Container runtime changed", "none", runtime] in [
        row[:4] for row in history_rows(response)]
    times = [cells[0] for cells in (row.find_all("td") for row in
             soup(response).select_one("table.history").find_all("tr")) if cells]
    assert any(report["on"] in text_of(cell) for cell in times)
