"""Every page's queries, as its visitors see it (anyone where anyone may, else a WG member;
the admin's change list, a superuser): pinned page by page in one table per app
(tests/<app>/query_counts.json), so that any change to a count is a visible diff; at most
MOST_QUERIES; and as many for 400 sites as for 20: nothing is queried per row. The pages are
the URL configuration's own (wlcgstatus/pages.py): a new page is pinned without anyone adding
it. UPDATE_QUERY_COUNTS=1 rewrites the tables with what the pages make now."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sites.models import Site
from wlcgstatus.pages import Page, pages

from ..factories.accounts import UserFactory
from ..factories.sites import bulk_sites
from ..helpers import signed_in

TESTS = Path(__file__).parent.parent
MOST_QUERIES = 12  # what no page may exceed, at any number of sites


def queries_for(client, url: str) -> list[str]:
    client.get(url)  # warm up whatever is cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:  # what it reads as it streams counts too
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def measured(reference, wg_member) -> list[tuple[Page, Client]]:
    """20 sites; every page, for a site serving CMS (with an exception) and ALICE (whose
    migration WG members record by hand), each with the browser of a visitor who may see it."""
    bulk_sites(20)
    site = (Site.objects.filter(exceptions__isnull=False,
                                experiment_sites__experiment__slug="alice")
            .order_by("name").first())
    anyone = Client()
    member = signed_in(wg_member)
    admin = signed_in(UserFactory(username="root", is_staff=True, is_superuser=True))
    return [(page, admin if page.name.startswith("admin") else
             anyone if anyone.get(page.url).status_code == 200 else member)
            for page in pages(site, wg_member)]


def made(measured, app: str | None = None) -> dict[str, list[str]]:
    return {page.name: queries_for(visitor, page.url) for page, visitor in measured
            if app is None or page.app == app}


@pytest.mark.parametrize("app", ["sites", "wlcgstatus"])
def test_every_page_makes_the_queries_its_app_pins(measured, app):
    counts = {name: len(queries) for name, queries in made(measured, app).items()}
    table = TESTS / app / "query_counts.json"
    if os.environ.get("UPDATE_QUERY_COUNTS"):
        table.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")

    assert counts == json.loads(table.read_text())
    assert max(counts.values()) <= MOST_QUERIES, {name: n for name, n in counts.items()
                                                  if n > MOST_QUERIES}


def test_every_page_makes_as_many_queries_for_400_sites_as_for_20(measured):
    few = made(measured)
    bulk_sites(380, start=20)
    many = made(measured)

    changed = {name: "\n".join(difflib.unified_diff(few[name], many[name], lineterm=""))
               for name in few if len(few[name]) != len(many[name])}
    # The API's exceptions list is two lists paged as one (grants, then standing
    # exceptions): a page reads only the parts it shows, and at 400 sites the first page
    # holds grants alone. Fewer queries, never more.
    assert set(changed) <= {"api:exception-list"}, changed
    assert len(many["api:exception-list"]) <= len(few["api:exception-list"])
