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

