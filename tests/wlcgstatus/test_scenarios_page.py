"""The scenarios page: every scenario, and per experiment a link to the sites table listing
as many sites as it counts."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.utils.html import escape

from experiments.models import Experiment, Scenario
from sites.models import Assessment

from ..helpers import get_ok, soup, text_of


def test_scenarios_page_counts_each_experiments_sites_per_scenario(client, demo):
    content = get_ok(client, "/scenarios/").content.decode()

    for scenario in Scenario.objects.all():
        assert f"<h2>{escape(scenario.name)}</h2>" in content
    pairs = Assessment.objects.exclude(scenario=None).values_list(
        "scenario__slug", "experiment__slug", "experiment__name").distinct()
    assert pairs
    for scenario, slug, name in pairs:
        n = Assessment.objects.filter(scenario__slug=scenario, experiment__slug=slug).count()
        link = escape(f"/sites/?{urlencode({'experiment': slug, 'scenario': scenario})}")
        assert f'<a href="{link}">{name}: {n} site{"" if n == 1 else "s"}</a>' in content


def test_every_scenarios_page_link_opens_the_sites_it_counts(client, demo):
    page = soup(get_ok(client, "/scenarios/"))
    counted = [(link["href"], re.fullmatch(r"[^:]+: (\d+) sites?", text_of(link)))
               for link in page.select('a[href^="/sites/?"]')]
    links = [(url, int(match.group(1))) for url, match in counted if match]
    assert len(links) >= Experiment.objects.count()

    for url, count in links:
        response = get_ok(client, url)
        assert response.context["table"].paginator.count == count, url
