"""Every answer of the API matches the schema it serves (Schemathesis), the schema describes the
capability filters and what a report may hold, and the docs page loads nothing from elsewhere."""

from __future__ import annotations

import re
import zlib
from urllib.parse import urlsplit

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from experiments.models import CapabilityDefinition, Experiment, Scenario
from sites.models import Site
from wlcgstatus.wsgi import application

from ...helpers import get_json


@pytest.fixture
def served_whole(db):
    """The WSGI app closes the test's connection at each request's start and end unless told not
    to: the test client does the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(api_data, served_whole):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE],
                                    allow_x00=False)
    real = {
        "/api/sites/{name}/": ("name", sorted(Site.objects.values_list("name", flat=True))),
        "/api/sites/{name}/capabilities/": ("name", ["SITE-A"]),
        "/api/experiments/{slug}/": ("slug", sorted(Experiment.objects.values_list("slug",
                                                                                   flat=True))),
        "/api/scenarios/{slug}/": ("slug", sorted(Scenario.objects.values_list("slug",
                                                                               flat=True))),
    }

    @schema.hook
    def map_path_parameters(context, path_parameters):
        # Writes go to Site A, whose token the write test holds. Two reads in three name a
        # real site, experiment or scenario; the rest whatever the schema allows (404).
        key, options = real.get(context.operation.path, (None, []))
        if path_parameters and key in path_parameters:
            generated = zlib.crc32(str(path_parameters[key]).encode(errors="surrogatepass"))
            if context.operation.method.upper() == "POST" or generated % 3:
                path_parameters[key] = options[generated % len(options)]
        return path_parameters

    return schema


api = schemathesis.pytest.from_fixture("api_schema")


@api.parametrize()
@settings(deadline=None, max_examples=40, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_schema(case):
    case.call_and_validate()


writes = schemathesis.pytest.from_fixture("api_schema").include(method="POST")


@writes.parametrize()
@settings(deadline=None, max_examples=40, suppress_health_check=list(HealthCheck))
def test_every_answer_to_a_write_with_a_token_matches_the_schema(case, key_a):
    """With Site A's token: values the schema allows may still break the form's rules (a
    runtime's version needs a runtime), so a 400 is a fair answer here, but it must match the
    schema as a 200 must."""
    response = case.call_and_validate(headers={"Authorization": f"Token {key_a}"},
                                      excluded_checks=[positive_data_acceptance])
    assert response.status_code in (200, 400, 403)
    if response.status_code == 400 and "values" in response.json():
        assert set(response.json()["values"]) <= set(
            CapabilityDefinition.objects.values_list("key", flat=True))


def test_schema_lists_the_capability_filters_and_the_reportable_capabilities(client, reference):
    schema = get_json(client, "/api/schema/", {"format": "json"})
    sites = {p["name"]: p for p in schema["paths"]["/api/sites/"]["get"]["parameters"]}
    for definition in CapabilityDefinition.objects.all():
        assert f"cap_{definition.key}" in sites
    assert {"q", "experiment", "scenario", "compliance", "exception", "tier", "country", "kind",
            "stale", "updated_since", "page", "page_size"} <= set(sites)
    assert sites["experiment"]["schema"]["enum"] == list(
        Experiment.objects.values_list("slug", flat=True))
    report = schema["components"]["schemas"]["CapabilityReportRequest"]
    values = report["properties"]["values"]
    assert set(values["properties"]) == set(CapabilityDefinition.objects.values_list("key",
                                                                                     flat=True))
    assert values["properties"]["container_runtime"]["enum"] == ["none", "singularity",
                                                                 "apptainer", ""]
    assert values["additionalProperties"] is False
    operation = schema["paths"]["/api/sites/{name}/capabilities/"]["post"]
    assert operation["security"] == [{"siteToken": []}]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])


def test_docs_page_loads_nothing_from_another_host(client, reference):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert addresses, "the docs page loads its scripts and styles"
    for address in addresses:
        assert not urlsplit(address).netloc, address
        if address.startswith("/static/"):  # shipped with the code, served from here
            assert finders.find(address.removeprefix("/static/")), address
    # Swagger UI's start-up script comes from the page's own URL (?script), not inline.
    (start_up,) = [address for address in addresses if "script" in urlsplit(address).query]
    script = client.get(start_up).content.decode()
    assert '"validatorUrl": null' in script
    for text in (page, script):
        assert not re.search(r"https?://(?!localhost|testserver)",
                             text.replace("http://www.w3.org", ""))
