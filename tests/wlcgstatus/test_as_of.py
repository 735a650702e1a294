"""The status as of a past day, on the pages: what a page shows with `?as_of=D`, weeks later,
is what it showed on D, whatever happened since; every figure opens the sites table as of the
same day listing exactly that many sites; a day that is not one, or is still to come, says so."""

from __future__ import annotations

import pytest

from experiments.models import Experiment
from sites.models import Site
from wlcgstatus.past import status_on

from ..factories.sites import make_site
from ..helpers import get_json, get_ok, on, page_text, soup, story_day, text_of

D = story_day(10)  # the meeting
PAGES = ["/", "/sites/", "/sites/?experiment=cms", "/sites/?sort=-scenario_cms",
         "/sites/?compliance=non_compliant", "/sites/?exception=active",
         "/sites/?exception=expiring", "/sites/?exception=lapsed",
         "/sites/?cap_container_runtime=none", "/experiments/cms/", "/experiments/alice/",
         "/sites/CH-A/", "/sites/CH-C/", "/sites/CH-D/",
         "/experiments/alice/migrations/alien-to-jalien/", "/scenarios/", "/changes/"]


def shown(client, url: str) -> list[str]:
    """What the page shows of the status, as a reader reads it: the overview's cards, the
    figures, the rows of every table (but which rule decided how many sites, counted for
    today only, and the policy revisions that decided, named for today's assessments only),
    the notes on the site (retired, proposed for retirement)."""
    page = soup(get_ok(client, url))
    for today_only in page.select(".decided-by"):
        today_only.decompose()
    parts = page.select("section.card, .headline, .exception-figures, .banner-inline, "
                        "main table:not(.rules) tr")
    assert parts, url
    return [text_of(part) for part in parts]


def test_every_page_as_of_a_day_shows_what_it_showed_that_day(client, story):
    with on(D, hour=18):
        on_the_day = {url: shown(client, url) for url in PAGES}
    story()

    with on(story_day(45)):
        for url in PAGES:
            as_of = f"{url}{'&' if '?' in url else '?'}as_of={D}"
            assert shown(client, as_of) == on_the_day[url], url
            # While today the page has moved on.
        assert shown(client, "/sites/") != on_the_day["/sites/"]
        assert shown(client, "/") != on_the_day["/"]


def test_every_figure_as_of_a_day_opens_the_sites_table_of_that_day(client, story):
    story()
    with on(story_day(45)):
        for summary in status_on(D, list(Experiment.objects.all())).summaries:
            figures = [*summary.scenarios, *summary.compliance, *summary.exceptions,
                       summary.stale]
            for figure in figures:
                table = get_ok(client, f"{figure.url}&as_of={D}").context["table"]
                assert table.paginator.count == figure.count, (figure.url, figure.count)
            assert get_ok(client, f"{summary.url}&as_of={D}").context[
                "table"].paginator.count == summary.total


def test_a_page_as_of_a_past_day_says_so_and_offers_the_way_back(client, story):
    story()
    with on(story_day(45)):
        response = get_ok(client, f"/sites/?experiment=cms&as_of={D}")
        page = soup(response)
        banner = page.select_one(".banner.as-of")
        assert f"Status as of {D.day} {D:%B %Y}" in text_of(banner)
        assert banner.a["href"] == "/sites/?experiment=cms"  # the same filters, today
        control = page.select_one("form.as-of-control")
        assert control.select_one("input[name=as_of]")["value"] == D.isoformat()
        assert control.select_one("input[name=experiment]")["value"] == "cms"
        assert page.body["data-as-of"] == D.isoformat()

        today = soup(get_ok(client, "/sites/?experiment=cms"))
        assert today.select_one(".banner.as-of") is None
        assert today.select_one("form.as-of-control input[name=as_of]")["value"] == ""
        assert "data-as-of" not in today.body.attrs
        # A page that shows only the present offers no day to choose.
        assert soup(get_ok(client, "/reports/")).select_one("form.as-of-control") is None


@pytest.mark.parametrize(("value", "message"), [
    ("2026-13-01", "“2026-13-01” is not a day: give it as YYYY-MM-DD."),
    ("yesterday", "“yesterday” is not a day: give it as YYYY-MM-DD."),
])
def test_a_day_that_is_not_one_is_said_and_the_page_shows_today(client, story, value, message):
    story()
    with on(story_day(45)):
        today = shown(client, "/sites/")
        response = get_ok(client, f"/sites/?as_of={value}")
        assert shown(client, f"/sites/?as_of={value}") == today
    assert message in page_text(response)
    assert "Showing the status today." in page_text(response)
    assert soup(response).select_one(".banner.as-of") is None


def test_a_day_still_to_come_is_said_and_the_page_shows_today(client, story):
    with on(story_day(5)):
        response = get_ok(client, f"/?as_of={D}")
    assert f"{D.day} {D:%B %Y} is still to come. Showing the status today." in page_text(
        response)


def test_a_site_added_later_is_not_in_the_past_and_a_site_retired_later_is(client, story):
    story()
    with on(story_day(45)):
        then = [row[0] for row in _rows(client, f"/sites/?as_of={D}")]
        now = [row[0] for row in _rows(client, "/sites/")]
    assert then == ["CH-A", "CH-B", "CH-C", "CH-D"]
    assert now == ["CH-A", "CH-B", "CH-D", "CH-E"]
    assert Site.objects.get(name="CH-C").retired_on == story_day(25)


def test_the_sites_table_as_of_a_day_shows_the_values_and_scenarios_of_that_day(client, story):
    story()
    with on(story_day(45)):
        then = {row[0]: row for row in _rows(client, f"/sites/?as_of={D}")}
        now = {row[0]: row for row in _rows(client, "/sites/")}
    header = _header(client)
    runtime, cms = header.index("Runtime"), header.index("CMS")
    assert (then["CH-A"][runtime], now["CH-A"][runtime]) == ("none", "singularity")
    assert then["CH-A"][cms] == "Transition exception"  # granted then, revoked since
    assert then["CH-D"][cms] == "Not isolated"  # lapsed then, renewed since
    assert now["CH-D"][cms] == "Transition exception"


def _rows(client, url: str) -> list[list[str]]:
    return [[text_of(cell) for cell in row.find_all("td")]
            for row in soup(get_ok(client, url)).select("table.sites tbody tr")]


def _header(client) -> list[str]:
    return [text_of(cell) for cell in soup(get_ok(client, "/sites/")).select("table.sites th")]


def test_the_api_lists_as_of_a_day_are_the_pages_of_that_day(client, story):
    story()
    with on(story_day(45)):
        for query in ("", "experiment=cms", "compliance=non_compliant", "exception=active"):
            sites = get_json(client, f"/api/sites/?{query}&as_of={D}")["results"]
            assert [site["name"] for site in sites] == [
                row[0] for row in _rows(client, f"/sites/?{query}&as_of={D}")], query
        (ch_a,) = get_json(client, f"/api/sites/?q=CH-A&as_of={D}")["results"]
        assert ch_a["experiments"] == ["cms"]
        assert ch_a["assessments"] == [{"experiment": "cms", "scenario": "transition-exception",
                                        "compliance": "interim"}]
        ch_c = get_json(client, f"/api/sites/?q=CH-C&as_of={D}")["results"][0]
        assert ch_c["experiments"] == ["alice", "cms"]  # retired since, served then

        summary = {e["experiment"]: e for e in get_json(
            client, f"/api/summary/?as_of={D}")["results"]}
        for figures in status_on(D, list(Experiment.objects.all())).summaries:
            shown = summary[figures.experiment.slug]
            assert shown["total"] == figures.total
            assert {f["label"]: f["count"] for f in shown["compliance"]} == {
                f.label: f.count for f in figures.compliance}

        (alien,) = get_json(client, f"/api/migrations/?experiment=alice&as_of={D}")["results"]
        assert alien["sites"] == 1  # CH-C, which had done the first step; CH-E came later
        assert [step["sites_done"] for step in alien["steps"]][:2] == [1, 0]


@pytest.mark.parametrize("url", ["/api/sites/", "/api/summary/", "/api/migrations/",
                                 "/api/exceptions/"])
def test_the_api_refuses_a_day_that_is_not_one_and_says_why(client, reference, url):
    response = get_json(client, f"{url}?as_of=30.06.2026", status=400)
    assert response == {"as_of": ["“30.06.2026” is not a day: give it as YYYY-MM-DD."]}


def test_the_api_exceptions_list_as_of_a_day_is_the_list_of_that_day(client, story):
    queries = ["", "?experiment=cms", "?active=true", "?active=false", "?site=CH-D"]
    with on(D, hour=18):
        on_the_day = {query: get_json(client, f"/api/exceptions/{query}")["results"]
                      for query in queries}
    assert len(on_the_day[""]) == 2 and len(on_the_day["?active=true"]) == 1
    story()  # CH-D's renewed, CH-A's revoked

    with on(story_day(45)):
        for query in queries:
            joined = f"{query}&" if query else "?"
            assert get_json(client, f"/api/exceptions/{joined}as_of={D}")["results"] == \
                on_the_day[query], query
        assert get_json(client, "/api/exceptions/")["results"] != on_the_day[""]


@pytest.mark.parametrize("url", ["/api/assessments/", "/api/sites/CH-A/"])
def test_what_shows_today_only_says_so_rather_than_answer_for_today(client, story, url):
    response = get_json(client, f"{url}?as_of=2026-06-30", status=400)
    assert "shows today only" in response["as_of"][0]


def test_the_experiment_page_as_of_a_day_shows_the_policy_in_force_that_day(client, story):
    with on(D, hour=18):
        on_the_day = _policy(client, "/experiments/cms/")
    story()  # rule 2 stops allowing user jobs on day 20
    with on(story_day(45)):
        then = _policy(client, f"/experiments/cms/?as_of={D}")
        today = _policy(client, "/experiments/cms/")
    assert then == on_the_day
    assert [row[5] for row in then if row[0] == "2"] == ["production and user jobs"]
    assert [row[5] for row in today if row[0] == "2"] == ["production"]


def _policy(client, url: str) -> list[list[str]]:
    """The policy table's rows, without how many sites each decided (counted for today)."""
    return [[text_of(cell) for cell in row.find_all("td")][:-1]
            for row in soup(get_ok(client, url)).select("table.rules tbody tr")]


def test_a_day_before_any_record_shows_the_earliest_day_and_says_so(client, story):
    response = get_ok(client, "/sites/?as_of=0001-01-01&stale=36500")
    assert "1 January 0001 is before any record: showing 1 January 2000." in page_text(response)
    assert "Status as of 1 January 2000" in page_text(response)
    assert response.context["table"].paginator.count == 0  # no site was there yet
    assert get_json(client, "/api/sites/?as_of=0001-01-01&stale=36500")["count"] == 0


def test_a_standing_exception_as_of_a_day_applies_to_the_sites_served_that_day(client,
                                                                               reference):
    with on(story_day(1)):
        make_site("HPC-1", kind="hpc", serves=("cms",), container_runtime="none")
    with on(story_day(20)):
        make_site("HPC-2", kind="hpc", serves=("cms",), container_runtime="none")

    with on(story_day(45)):
        (cms,) = status_on(D, [Experiment.objects.get(slug="cms")]).summaries
        standing = next(figure for figure in cms.exceptions if figure.key == "standing")
        assert standing.count == 1
        table = get_ok(client, f"{standing.url}&as_of={D}").context["table"]
        assert [site.name for site in table.data] == ["HPC-1"]
        rows = get_json(client, f"/api/exceptions/?experiment=cms&as_of={D}")["results"]
        assert [row["site"] for row in rows if row["standing"]] == ["HPC-1"]
        today = get_json(client, "/api/exceptions/?experiment=cms")["results"]
        assert [row["site"] for row in today if row["standing"]] == ["HPC-1", "HPC-2"]
