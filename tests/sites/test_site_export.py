"""The sites table's exports (CSV, Excel, JSON): exactly the filtered rows of every page, the
same values in every format, and nothing for a filter the table refuses."""

from __future__ import annotations

import csv
import datetime
import io
import json

import openpyxl
import pytest

from sites.models import Assessment, Site

from ..factories.sites import make_site, reported_on
from ..helpers import SITES, get_ok


def parse_export(response, export_format: str) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if export_format == "csv":
        return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    if export_format == "json":
        return json.loads(body)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "json"])
def test_an_export_holds_exactly_the_filtered_rows_of_every_page(
        client, many_bare_cms_sites, export_format):
    query = {"experiment": "cms", "scenario": "not-isolated", "sort": "-name"}
    table = get_ok(client, SITES, query).context["table"]
    assert table.paginator.count == 60 and table.paginator.num_pages == 2
    names = [record.name for record in table.data]
    assert names == sorted(Site.objects.filter(name__startswith="BARE")
                           .values_list("name", flat=True), reverse=True)

    response = get_ok(client, SITES, {**query, "_export": export_format})

    assert f"wlcg-sites.{export_format}" in response["Content-Disposition"]
    rows = parse_export(response, export_format)
    assert [row["Site"] for row in rows] == names
    assert {row["CMS"] for row in rows} == {"Payloads not isolated"}
    assert {row["ATLAS"] for row in rows} == {
        "Using VO pilots without VO framework capabilities"}


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "json"])
def test_every_export_format_gives_the_same_values_for_a_site(client, reference, export_format):
    hpc = make_site("HPC-ONE", tier=1, country="Italy", kind="hpc", serves=("atlas",),
                    container_runtime="apptainer", container_runtime_version="1.3.4",
                    outbound_network="yes")
    reported_on(hpc, datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC))
    atlas = Assessment.objects.get(site=hpc).scenario.name
    decided = Assessment.objects.select_related("revision", "rule").get(site=hpc).decided_by
    assert decided.startswith("ATLAS policy r1, ")

    response = get_ok(client, SITES, {"q": "HPC-ONE", "_export": export_format})

    [row] = parse_export(response, export_format)
    assert {key: "" if value is None else str(value) for key, value in row.items()} == {
        "Site": "HPC-ONE", "Tier": "1", "Country": "Italy", "Kind": "HPC", "ALICE": "",
        "ATLAS": atlas, "CMS": "", "LHCb": "", "Runtime": "apptainer", "Version": "1.3.4",
        "Last update": "2026-03-04", "ALICE decided by": "", "ATLAS decided by": decided,
        "CMS decided by": "", "LHCb decided by": ""}


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "json"])
def test_an_export_of_an_invalid_filter_is_empty(client, many_bare_cms_sites, export_format):
    response = get_ok(client, SITES, {"experiment": "nope", "_export": export_format})

    assert parse_export(response, export_format) == []


@pytest.mark.parametrize(("export_format", "shown"), [
    ("csv", "'=1+2*3"), ("xlsx", "'=1+2*3"),  # text in a spreadsheet, not a formula
    ("json", "=1+2*3"),  # data for programs: as it is
])
def test_a_name_that_would_be_a_formula_arrives_as_text(client, reference, export_format,
                                                         shown):
    make_site("=1+2*3", serves=("cms",))

    response = get_ok(client, SITES, {"_export": export_format})

    (row,) = parse_export(response, export_format)
    assert row["Site"] == shown
