"""A migration's page: the sites it concerns, and how many have done each step."""

from __future__ import annotations

from django.utils.html import escape

from experiments.models import Migration
from sites.models import SiteMigration
from wlcgstatus.views import SITES_SHOWN

from ..factories.sites import bulk_sites
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



def test_a_migration_with_many_sites_lists_them_a_page_at_a_time(client, reference):
    bulk_sites(150)
    migration = Migration.objects.get(slug="alien-to-jalien")
    recorded = SiteMigration.objects.filter(migration=migration).count()
    assert recorded > SITES_SHOWN

    first = get_ok(client, migration.get_absolute_url())
    second = get_ok(client, migration.get_absolute_url(), {"page": 2})
    listed = [state.site.name for response in (first, second)
              for state, _scenario in response.context["states"]]
    assert len(listed) == len(set(listed)) == recorded
    assert f"sites 1\N{EN DASH}{SITES_SHOWN} of {recorded}" in first.content.decode()
    assert 'href="?page=2">next</a>' in first.content.decode()
