"""A migration's page: the sites it concerns, and how many have done each step."""

from __future__ import annotations

from django.utils.html import escape

from experiments.models import Migration
from sites.models import SiteMigration

from ..helpers import get_ok


def test_each_migration_page_lists_its_sites_and_their_progress(client, demo):
    migrations = list(Migration.objects.select_related("experiment"))
    assert migrations
    for migration in migrations:
        content = get_ok(client, migration.get_absolute_url()).content.decode()

        assert f"<h1>{escape(migration.name)}</h1>" in content
        states = SiteMigration.objects.filter(migration=migration).select_related(
            "site", "completed_step")
        total = states.count()
        for state in states:
            assert f'<a href="/sites/{state.site.name}/">{state.site.name}</a>' in content
        for step in migration.steps.all():
            done = states.filter(completed_step__position__gte=step.position).count()
            assert f"{done} / {total}" in content
            assert escape(step.name) in content


def test_the_chart_dates_loaded_progress_by_its_own_day_not_the_load(client, demo):
    # The demo's ALICE sites recorded their steps in 2021-2023; they were loaded today.
    migration = Migration.objects.get(slug="alien-to-jalien")
    chart = get_ok(client, migration.get_absolute_url()).context["chart"]
    lines = {trace["name"]: trace for trace in chart.figure["data"]}
    first_step = lines["JAliEn services deployed at the site"]
    days = first_step["x"]
    assert days[0] < "2022-01-01" and len(days) > 10  # a rise over time, not one jump
    counts = first_step["y"]
    assert counts == sorted(counts)  # nobody went back in the demo
    done = SiteMigration.objects.filter(migration=migration,
                                        completed_step__position__gte=1).count()
    assert counts[-1] == done
