"""/changes/ for a period: what it changed per experiment, as the report's “changes since”
lists it, and every change recorded in it, each with what it changed from."""

from __future__ import annotations

from sites.updates import record_capabilities
from wlcgstatus.reports import render
from wlcgstatus.reports.compose import compose

from ..factories.exceptions import grant
from ..factories.sites import make_site, singularity_deployed_on
from ..helpers import (
    bullets,
    field_error,
    get_ok,
    history_rows,
    on,
    plain,
    section,
    soup,
    story_day,
    subsection,
    text_of,
)


def period_lists(response) -> dict[str, list[str]]:
    """Per experiment heading, the texts of what the period changed."""
    lists = {}
    for heading in soup(response).select("section > h2"):
        items = heading.parent.select("ul.changes li")
        lists[text_of(heading)] = [text_of(item) for item in items]
    return lists


def test_a_period_lists_what_the_report_lists_as_changed_since(client, reference):
    singularity_deployed_on(5)
    with on(story_day(3)):
        waiting = make_site("CH-WAITING", serves=("cms",), container_runtime="none")
        grant(waiting, story_day(3), story_day(60))
    with on(story_day(9)):
        response = get_ok(client, "/changes/", {"since": story_day(2).isoformat(),
                                               "until": story_day(8).isoformat()})
        report = render.as_markdown(compose(as_of=story_day(8), since=story_day(2))).decode()

    assert "<h1>Changes since 2 March 2026 up to 8 March 2026</h1>" in response.content.decode()
    shown = period_lists(response)["CMS"]
    assert shown == [plain(line[2:]) for line in bullets(subsection(section(report, "CMS"),
                                                                    "Changes since"))]
    assert "CH-CHANGING: Not isolated → Isolated in containers (2026-03-05)" in shown
    assert any(line.startswith("CH-WAITING: exception") and "granted on 2026-03-03" in line
               for line in shown)


def test_a_period_lists_only_its_recorded_changes_each_with_its_old_value(client, reference):
    with on(story_day(1)):
        site = make_site("CH-ONE", serves=("cms",), container_runtime="none", cvmfs="yes")
    with on(story_day(3)):
        record_capabilities(site, {"cvmfs": "no"})
    with on(story_day(6)):
        record_capabilities(site, {"container_runtime": "singularity"})
    with on(story_day(9)):
        rows = history_rows(get_ok(client, "/changes/", {"since": story_day(4).isoformat()}))

    assert ["system", "CH-ONE", "Container runtime changed", "none", "singularity"] in rows
    assert not [row for row in rows if row[2].startswith("CVMFS")]  # before the period


def test_a_period_that_cannot_be_read_says_why_and_keeps_the_entries(client, reference):
    with on(story_day(9)):
        response = get_ok(client, "/changes/", {"since": story_day(8).isoformat(),
                                               "until": story_day(4).isoformat()})
        assert field_error(response, "since") == (
            "The earlier day must come before the later one.")
        page = soup(response)
        assert page.select_one("input[name=since]")["value"] == story_day(8).isoformat()
        assert page.select_one("input[name=until]")["value"] == story_day(4).isoformat()
        assert "<h1>Recent changes</h1>" in response.content.decode()

        response = get_ok(client, "/changes/", {"since": story_day(1).isoformat(),
                                               "until": story_day(20).isoformat()})
        assert field_error(response, "until") == "This day is still to come."
        response = get_ok(client, "/changes/", {"since": "yesterday"})
        assert field_error(response, "since") == "Enter a valid date."


def test_a_long_period_shows_its_first_changes_and_counts_the_rest(client, reference,
                                                                   monkeypatch):
    singularity_deployed_on(5)
    with on(story_day(3)):
        for name in ("CH-WAITING", "CH-ALSO-WAITING"):
            grant(make_site(name, serves=("cms",), container_runtime="none"),
                  story_day(3), story_day(60))
    with on(story_day(9)):
        since = {"since": story_day(2).isoformat(), "until": story_day(8).isoformat()}
        everything = period_lists(get_ok(client, "/changes/", since))["CMS"]
        monkeypatch.setattr("wlcgstatus.views.CHANGES_SHOWN", 1)
        response = get_ok(client, "/changes/", since)

    shown = period_lists(response)["CMS"]
    # The first of each kind: a scenario change, an exception granted, a migration step.
    assert len(shown) == 3 and shown[0] == everything[0] and set(shown) < set(everything)
    assert "exception" in shown[1] and "Singularity provided to the pilots" in shown[2]
    more = len(everything) - len(shown)
    assert f"… and {more} more changes in the period" in text_of(soup(response))
