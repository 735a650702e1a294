"""Nightly snapshots count what the assessments say, per scenario and per migration step; a
second snapshot of a day replaces the first, and backfilled ones follow the history."""

from __future__ import annotations

import datetime
import io

from django.core.management import call_command
from django.db.models import Count

from experiments.models import Migration
from sites.management.commands.build_demo_fixture import DEMO_DATE
from sites.models import Assessment, SiteMigration
from wlcgstatus.models import MigrationCount, ScenarioCount
from wlcgstatus.snapshots import take_snapshot

from ..factories.sites import singularity_deployed_on
from ..helpers import on, story_day


def scenario_counts(date: datetime.date) -> dict[tuple[str, str], int]:
    return {(row.experiment.slug, row.scenario and row.scenario.slug): row.sites for row in
            ScenarioCount.objects.filter(day=date).select_related("experiment", "scenario")}


def migration_counts(date: datetime.date, migration: str | None = None
                     ) -> dict[tuple[str, int], int]:
    rows = MigrationCount.objects.filter(day=date).select_related("migration", "step")
    if migration:
        rows = rows.filter(migration__slug=migration)
    return {(row.migration.slug, row.step.position): row.sites for row in rows}


def test_a_snapshot_counts_the_assessments_and_the_migration_steps(demo):
    take_snapshot(DEMO_DATE)
    expected = {(e, s): n for e, s, n in Assessment.objects
                .values_list("experiment__slug", "scenario__slug").annotate(n=Count("id"))}
    assert (("alice", None)) in expected  # the sites of unknown scenario count too
    assert scenario_counts(DEMO_DATE) == expected
    assert sum(expected.values()) == Assessment.objects.count()

    steps = {}
    for migration in Migration.objects.all():
        for step in migration.steps.all():
            steps[migration.slug, step.position] = SiteMigration.objects.filter(
                migration=migration, completed_step__position__gte=step.position).count()
    assert migration_counts(DEMO_DATE) == steps
    assert any(steps.values())


def test_a_second_snapshot_of_a_day_replaces_the_first(demo):
    take_snapshot(DEMO_DATE)
    take_snapshot(DEMO_DATE - datetime.timedelta(days=1))
    before = (scenario_counts(DEMO_DATE), migration_counts(DEMO_DATE),
              ScenarioCount.objects.count(), MigrationCount.objects.count())
    take_snapshot(DEMO_DATE)
    assert (scenario_counts(DEMO_DATE), migration_counts(DEMO_DATE),
            ScenarioCount.objects.count(), MigrationCount.objects.count()) == before
    assert ScenarioCount.objects.filter(day=DEMO_DATE - datetime.timedelta(days=1)).exists()


def test_backfilled_snapshots_follow_a_site_that_changed_scenario(reference):
    singularity_deployed_on(5)
    with on(story_day(8)):
        out = io.StringIO()
        call_command("backfill_snapshots", story_day(1).isoformat(), stdout=out)
    assert "Snapshots of 8 days stored" in out.getvalue()

    old = {("cms", "containers-isolate-payloads"): 1, ("cms", "not-isolated"): 1}
    new = {("cms", "containers-isolate-payloads"): 2}
    assert {n: scenario_counts(story_day(n)) for n in range(1, 9)} == {
        n: old if n < 5 else new for n in range(1, 9)}
    # The Singularity step follows the scenario: CH-STEADY from day 1, CH-CHANGING from day 5.
    assert {n: migration_counts(story_day(n), "singularity-rollout") for n in range(1, 9)} == {
        n: {("singularity-rollout", 1): 1 if n < 5 else 2} for n in range(1, 9)}
    # Every step of every migration has its row each day, none done elsewhere.
    assert {n: sum(migration_counts(story_day(n)).values()) for n in range(1, 9)} == {
        n: 1 if n < 5 else 2 for n in range(1, 9)}
    assert len(migration_counts(story_day(1))) == sum(m.steps.count()
                                                for m in Migration.objects.all())
