"""Every page makes as many queries for 400 sites as for 20: nothing is queried per row."""

from __future__ import annotations

import difflib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sites.models import Site, SiteMigration

from ..factories.sites import bulk_sites
from ..helpers import SITES

PAGES = {
    "overview": "/",
    "sites": SITES,
    "filtered sites": f"{SITES}?experiment=cms&scenario=not-isolated&tier=2&tier=3&sort=-name",
    "sites sorted by scenario": f"{SITES}?sort=scenario_cms&cap_cvmfs=yes&stale=10",
    "site": "/sites/BULK-0000/",
    "experiment": "/experiments/cms/",
    "migration": "/experiments/alice/migrations/alien-to-jalien/",
    "scenarios": "/scenarios/",
}


def queries_for(client: Client, url: str) -> list[str]:
    client.get(url)  # warm up whatever is cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    if "table" in response.context:  # a table with rows, so its rows are queried too
        assert response.context["table"].page.object_list
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("url", PAGES.values(), ids=PAGES.keys())
def test_a_page_makes_as_many_queries_for_400_sites_as_for_20(client, reference, url):
    bulk_sites(20)
    few = queries_for(client, url)
    bulk_sites(380, start=20)
    assert Site.objects.count() == 400
    assert SiteMigration.objects.filter(migration__slug="alien-to-jalien").count() > 200
    many = queries_for(client, url)

    assert len(many) == len(few), "\n".join(difflib.unified_diff(few, many, lineterm=""))
