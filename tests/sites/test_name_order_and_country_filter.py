"""The sites table sorts names as people read them, and its country filter (the API's too)
takes the country code the API gives as well as the name."""

import re

import pytest
from django.db.models.functions import Lower
from django.test import Client

from sites.models import Site

from ..factories.sites import make_site
from ..helpers import SITES, get_json


def page_names(client: Client, query: dict) -> list[str]:
    """The names of the sites on the page, in the order the rendered rows give them."""
    response = client.get(SITES, query)
    assert response.status_code == 200, f"{query} -> {response.status_code}"
    rows = response.content.decode().split("<tbody", 1)[1]
    rendered = re.findall(r'<a href="/sites/([^/"]+)/"', rows)
    assert rendered == [row.record.name for row in response.context["table"].page.object_list]
    return rendered


def api_names(client: Client, query: dict) -> list[str]:
    return [site["name"] for site in
            get_json(client, "/api/sites/", {**query, "page_size": 500})["results"]]


# --- sorting site names ignores case -------------------------------------------------------------

@pytest.fixture
def mixed_case_sites(reference):
    for name in ("GAMMA", "alpha", "Beta"):
        make_site(name)


def test_sorting_by_name_ignores_case(client, mixed_case_sites):
    assert page_names(client, {"sort": "name"}) == ["alpha", "Beta", "GAMMA"]
    assert page_names(client, {"sort": "-name"}) == ["GAMMA", "Beta", "alpha"]


def test_the_default_order_ignores_case_too(client, mixed_case_sites):
    assert page_names(client, {}) == ["alpha", "Beta", "GAMMA"]


def test_names_equal_but_for_case_keep_one_order(client, reference):
    for name in ("abc", "ABD", "ABC", "abb"):
        make_site(name)
    ascending = page_names(client, {"sort": "name"})

    assert ascending == ["abb", "ABC", "abc", "ABD"]
    assert page_names(client, {"sort": "-name"}) == ascending[::-1]
    assert list(Site.objects.order_by(Lower("name"), "name")
                .values_list("name", flat=True)) == ascending


# --- the country filter takes the country's code -------------------------------------------------

@pytest.fixture
def sites_in_three_countries(reference):
    for name, country, code in [("DE-ONE", "Germany", "DE"), ("DE-TWO", "Germany", "DE"),
                                ("IT-ONE", "Italy", "IT"), ("CH-ONE", "Switzerland", "CH")]:
        site = make_site(name)
        Site.objects.filter(pk=site.pk).update(country=country, country_code=code)


@pytest.mark.parametrize("country", ["Germany", "DE", "de"])
def test_the_sites_table_filters_by_country_name_or_code(client, sites_in_three_countries,
                                                         country):
    response = client.get(SITES, {"country": country})

    assert [row.record.name for row in response.context["table"].page.object_list] == [
        "DE-ONE", "DE-TWO"]
    assert not response.context["filter"].form.errors
    # The select shows the country the code names.
    assert '<option value="Germany" selected>Germany</option>' in response.content.decode()


@pytest.mark.parametrize("country", ["Germany", "DE", "de"])
def test_the_api_filters_by_country_name_or_code(client, sites_in_three_countries, country):
    assert api_names(client, {"country": country}) == ["DE-ONE", "DE-TWO"]


@pytest.mark.parametrize("country", ["Atlantis", "FR", "XX", "DEU"])
def test_a_country_no_site_is_in_is_refused_by_name_or_code(client, sites_in_three_countries,
                                                            country):
    response = client.get("/api/sites/", {"country": country}, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"country"}
    assert client.get(SITES, {"country": country}).context["table"].paginator.count == 0


def test_the_api_schema_lists_country_names_and_codes(client, sites_in_three_countries):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/sites/"]["get"]["parameters"]}

    assert set(parameters["country"]["schema"]["enum"]) == {
        "Germany", "Italy", "Switzerland", "DE", "IT", "CH"}
    assert "ISO 3166 code" in parameters["country"]["description"]
