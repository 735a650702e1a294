"""Standing exceptions: an exception kind that applies by itself to every site of a kind (CMS's
HPC systems, production only), with no grant and no expiry, shown wherever exceptions are."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from experiments.models import ExceptionKind
from sites.models import Assessment

from ..factories.exceptions import grant
from ..factories.sites import make_site
from ..helpers import (
    download,
    get_json,
    get_ok,
    listed,
    page_text,
    request_report,
    section,
    soup,
    text_of,
)

HPC_KIND = "HPC systems used for production workloads only"


@pytest.fixture
def hpc_sites(reference):
    """HPC-BARE provides no Singularity; HPC-SING does; GRID-BARE is a grid site without."""
    make_site("HPC-BARE", kind="hpc", serves=("cms",), container_runtime="none")
    make_site("HPC-SING", kind="hpc", serves=("cms",), container_runtime="singularity")
    make_site("GRID-BARE", serves=("cms",), container_runtime="none")


def test_an_hpc_site_is_production_only_by_the_standing_exception(client, hpc_sites):
    assessment = Assessment.objects.select_related("scenario").get(site__name="HPC-BARE")
    assert assessment.scenario.slug == "production-only"
    assert assessment.standing_exception.name == HPC_KIND
    assert assessment.reason == (f"Standing exception “{HPC_KIND}”: Site kind = HPC, in place "
                                 "of rule 2")
    assert not assessment.allows_user_jobs

    page = soup(get_ok(client, "/sites/HPC-BARE/"))
    standing = text_of(page.find(class_="standing"))
    assert standing == (f"standing CMS: {HPC_KIND} — applies by itself to every HPC site, with "
                        "no grant and no expiry.")
    assert "No exception has been granted" not in page_text(get_ok(client, "/sites/HPC-BARE/"))
    # A grid site has none.
    assert "No exception has been granted" in page_text(get_ok(client, "/sites/GRID-BARE/"))


def test_the_standing_exception_decides_even_where_a_rule_would_serve_better(hpc_sites):
    # CMS plans to use HPC systems for production only, Singularity or not.
    assessment = Assessment.objects.select_related("scenario").get(site__name="HPC-SING")
    assert assessment.scenario.slug == "production-only"
    assert assessment.reason.endswith("in place of rule 1")


def test_the_overview_counts_the_sites_under_a_standing_exception(client, hpc_sites):
    card = soup(get_ok(client, "/")).find("section", id="cms")
    figures = {text_of(item.find("a"))[len(item.find("strong").get_text()) + 1:]:
               (int(item.find("strong").get_text()), item.find("a")["href"])
               for item in card.select(".exception-figures li")}
    count, url = figures["standing (by site kind)"]
    assert count == 2
    assert listed(client, url.partition("?")[2]) == ["HPC-BARE", "HPC-SING"]


def test_the_experiment_page_shows_the_kind_as_standing_with_the_sites_it_decided(
        client, hpc_sites):
    rows = soup(get_ok(client, "/experiments/cms/")).select("tr.exception-row")
    standing = next(row for row in rows if HPC_KIND in text_of(row))
    assert "standing applies by itself to every HPC site, with no expiry" in text_of(standing)
    assert text_of(standing.find_all("td")[-1]) == "2"
    transition = next(row for row in rows if HPC_KIND not in text_of(row))
    assert "granted site by site, for at most 9 months" in text_of(transition)


def test_the_api_lists_standing_exceptions_after_the_grants(client, hpc_sites):
    grant(Assessment.objects.get(site__name="GRID-BARE").site,
          timezone.localdate(), timezone.localdate().replace(year=2099))
    rows = get_json(client, "/api/exceptions/")["results"]
    assert [(row["site"], row["standing"]) for row in rows] == [
        ("GRID-BARE", False), ("HPC-BARE", True), ("HPC-SING", True)]
    standing = rows[1]
    assert standing | {"reason": ""} == {
        "id": None, "site": "HPC-BARE", "experiment": "cms", "kind": "hpc-production-only",
        "kind_name": HPC_KIND, "scenario": "production-only", "reason": "", "granted_by": None,
        "granted_on": None, "expires_on": None, "revoked_on": None, "state": "active",
        "active": True, "standing": True}
    assert [row["site"] for row in
            get_json(client, "/api/exceptions/", {"site": "HPC-SING"})["results"]] == ["HPC-SING"]
    assert [row["site"] for row in
            get_json(client, "/api/exceptions/", {"active": "false"})["results"]] == []
    assert get_json(client, "/api/exceptions/", {"experiment": "atlas"})["results"] == []
    paged = get_json(client, "/api/exceptions/", {"page_size": 2, "page": 2})
    assert (paged["count"], [row["site"] for row in paged["results"]]) == (3, ["HPC-SING"])


def test_the_report_names_the_standing_exception(
        client, wg_member, hpc_sites, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(wg_member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of=timezone.localdate().isoformat(), format="md")
    cms = section(download(client, report).decode(), "CMS")
    assert (f"Standing exception “{HPC_KIND}”: applies by itself to every HPC site, with no "
            "expiry (2 sites).") in cms


def test_a_standing_exception_can_have_no_expiry(reference):
    kind = ExceptionKind.objects.get(slug="hpc-production-only")
    kind.requires_expiry = True
    with pytest.raises(ValidationError, match="A standing exception has no expiry"):
        kind.full_clean()
