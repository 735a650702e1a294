"""The sites table as a user drives it: every site fifty to a page, what a row shows, sorting by
any column (on the experiment page too), and bad or odd input in the URL answered with a page,
never a server error."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils.html import escape

from experiments.models import Experiment
from sites.models import Assessment, Site

from ..factories.exceptions import grant
from ..factories.sites import make_site, reported_on
from ..helpers import SITES, day, get_ok, soup, text_of


def shown(response) -> list[str]:
    """The names of the sites on the page shown, in order."""
    return [row.record.name for row in response.context["table"].page.object_list]


def site_row(response, name: str) -> list:
    """The cells of a site's row in the sites table, after the one with its name."""
    link = soup(response).find("a", href=f"/sites/{name}/", string=name)
    return link.find_parent("tr").find_all("td")[1:]


# --- the table ------------------------------------------------------------------------------------

def test_sites_page_lists_every_site_fifty_to_a_page(client, demo):
    response = get_ok(client, SITES)
    content = response.content.decode()

    table = response.context["table"]
    assert table.paginator.count == Site.objects.count() == 150
    assert len(shown(response)) == 50
    assert shown(response) == sorted(shown(response), key=str.lower)  # case ignored
    assert f"{Site.objects.count()} sites match" in content
    assert '<a href="/sites/FZK-LCG2/">FZK-LCG2</a>' in content
    for experiment in Experiment.objects.all():
        # a scenario column per experiment, which sorts by it
        assert f'<a href="?sort=scenario_{experiment.slug}">{experiment.name}</a>' in content


def test_a_sites_table_row_shows_the_sites_kind_runtime_scenarios_and_last_update(
        client, reference):
    hpc = make_site("HPC-ONE", tier=1, country="Italy", kind="hpc", serves=("atlas", "cms"),
                    container_runtime="apptainer", container_runtime_version="1.3.4",
                    outbound_network="yes")
    reported_on(hpc, datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC))
    make_site("QUIET", serves=("lhcb",))
    scenarios = {a.experiment.slug: a.scenario for a in
                 Assessment.objects.filter(site=hpc).select_related("experiment", "scenario")}

    response = get_ok(client, SITES)

    cells = site_row(response, "HPC-ONE")
    contents = [cell.decode_contents() for cell in cells]
    assert contents[:3] == ["1", "Italy", "HPC"]
    assert contents[3] == ""  # ALICE: not served
    assert cells[4].find("span", string=scenarios["atlas"].short_name)
    assert cells[5].find("span", string=scenarios["cms"].short_name)
    assert contents[6:9] == ["", "apptainer", "1.3.4"]
    # Reported more than CAPABILITY_CONFIRM_DAYS ago: flagged stale.
    assert text_of(cells[9]) == "2026-03-04 stale"
    quiet = site_row(response, "QUIET")
    assert quiet[6].find("span", string="Unknown")  # LHCb, served but nothing reported
    assert [cell.decode_contents() for cell in quiet[-3:]] == ["—", "—", "never"]


# --- sorting --------------------------------------------------------------------------------------

@pytest.fixture
def cms_scenarios(reference):
    make_site("ALPHA", serves=("cms",), container_runtime="none")  # not isolated, position 7
    make_site("BRAVO", serves=("cms",), container_runtime="singularity")  # isolated, position 1
    make_site("CHARLIE", serves=("atlas",), container_runtime="none")  # CMS does not use it
    make_site("DELTA", kind="hpc", serves=("cms",))  # production only, position 4
    echo = make_site("ECHO", serves=("cms",), container_runtime="none")
    grant(echo, day(-5), day(30))  # transition, position 6
    make_site("FOXTROT", serves=("cms",), container_runtime="apptainer")  # isolated, position 1


def test_sort_by_name_both_ways(client, cms_scenarios):
    names = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT"]

    assert shown(get_ok(client, SITES, {"sort": "name"})) == names
    assert shown(get_ok(client, SITES, {"sort": "-name"})) == names[::-1]


def test_sort_by_an_experiments_scenario_follows_the_scenario_order(client, cms_scenarios):
    positions = dict(Assessment.objects.filter(experiment__slug="cms")
                     .values_list("site__name", "scenario__position"))
    assert sorted(set(positions.values())) == [1, 4, 6, 7]

    ascending = shown(get_ok(client, SITES, {"sort": "scenario_cms"}))
    descending = shown(get_ok(client, SITES, {"sort": "-scenario_cms"}))

    assert ascending == ["BRAVO", "FOXTROT", "DELTA", "ECHO", "ALPHA", "CHARLIE"]
    assert descending == ["ALPHA", "ECHO", "DELTA", "BRAVO", "FOXTROT", "CHARLIE"]
    assert [positions[name] for name in ascending[:-1]] == sorted(positions.values())


def test_sort_by_scenario_on_the_experiment_page(client, cms_scenarios):
    response = get_ok(client, "/experiments/cms/", {"sort": "-scenario_cms"})

    assert shown(response) == ["ALPHA", "ECHO", "DELTA", "BRAVO", "FOXTROT"]


@pytest.mark.parametrize("column", ["tier", "-country", "kind", "container_runtime",
                                    "-last_reported_at", "scenario_atlas", "-scenario_lhcb"])
def test_sort_by_any_other_column_works(client, cms_scenarios, column):
    response = get_ok(client, SITES, {"sort": column})

    assert len(shown(response)) == 6


# --- bad input in the URL -------------------------------------------------------------------------

@pytest.fixture
def lenient_client():
    """A client that reports a server error as a 500 response instead of raising it."""
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(("query", "label"), [
    ({"experiment": "nope"}, "Experiment"),
    ({"tier": "9"}, "Tier"),
    ({"tier": ["1", "nine"]}, "Tier"),
    ({"scenario": "zzz"}, "Scenario"),
    ({"compliance": "perfect"}, "Compliance"),
    ({"exception": "forever"}, "Exception"),
    ({"country": "Atlantis"}, "Country"),
    ({"kind": "mainframe"}, "Kind"),
    ({"cap_cvmfs": "maybe"}, "CVMFS"),
    ({"updated_since": "2026-13-45"}, "Updated since"),
    ({"stale": "abc"}, "Not confirmed for (days)"),
    ({"stale": "-3"}, "Not confirmed for (days)"),
    ({"stale": "1000000"}, "Not confirmed for (days)"),
    ({"experiment": "cms", "scenario": "zzz"}, "Scenario"),
], ids=lambda value: urlencode(value, True) if isinstance(value, dict) else "")
def test_an_unusable_filter_value_gives_a_clear_message_and_no_rows(
        lenient_client, cms_scenarios, query, label):
    response = lenient_client.get(SITES, query)

    assert response.status_code == 200
    content = response.content.decode()
    assert '<div class="form-errors" role="alert">' in content
    assert f"<li>{escape(label)}: " in content
    assert response.context["table"].paginator.count == 0
    assert "No site matches these filters." in content


def test_a_page_past_the_end_shows_the_last_page(lenient_client, many_bare_cms_sites):
    response = lenient_client.get(SITES, {"page": "9999"})

    assert response.status_code == 200
    page = response.context["table"].page
    assert page.number == 2
    assert shown(response) == sorted(Site.objects.values_list("name", flat=True))[50:]


@pytest.mark.parametrize("page", ["abc", "0", "-1", ""])
def test_a_page_that_is_not_a_page_number_gives_a_page(lenient_client, cms_scenarios, page):
    response = lenient_client.get(SITES, {"page": page})

    assert response.status_code == 200
    assert shown(response)


@pytest.mark.parametrize("query", [
    {"sort": "nonsense"}, {"sort": "-scenario_nope"}, {"sort": "runtime_version"},
    {"q": "%' OR 1=1 --"}, {"stale": "2.5"},
    {"updated_since": "0001-01-01"}, {"updated_since": "9999-12-31"}, {"per_page": "0"},
    {"per_page": "abc"}, {"_export": "pdf"},
], ids=lambda value: urlencode(value))
def test_odd_but_valid_input_gives_a_page(lenient_client, cms_scenarios, query):
    response = lenient_client.get(SITES, query)

    assert response.status_code == 200
    assert '<div class="form-errors"' not in response.content.decode()


@pytest.mark.parametrize("days", ["1000000", "1e12"])
def test_a_huge_stale_value_gives_a_page(lenient_client, cms_scenarios, days):
    response = lenient_client.get(SITES, {"stale": days})

    assert response.status_code == 200


@pytest.mark.parametrize("url", [SITES, "/experiments/cms/"])
def test_a_negative_page_size_gives_a_page(lenient_client, cms_scenarios, url):
    response = lenient_client.get(url, {"per_page": "-1"})

    assert response.status_code == 200


@pytest.mark.parametrize("export_format", ["ods", "xls"])
def test_an_export_format_that_is_not_offered_gives_no_server_error(
        lenient_client, cms_scenarios, export_format):
    response = lenient_client.get(SITES, {"_export": export_format})

    assert response.status_code == 200
