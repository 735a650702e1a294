"""A report as of a day, made later, is the report made on that day: figure for figure and line
for line, whatever happened since."""

from __future__ import annotations

import pytest

from sites.models import AssessmentChange
from wlcgstatus.models import Report

from ...factories.exceptions import grant
from ...factories.sites import make_site
from ...helpers import (
    download,
    on,
    request_report,
    section,
    story_day,
    subsection,
    table_rows,
)

D = story_day(10)  # the meeting


@pytest.fixture
def report_of(client, member, media, django_capture_on_commit_callbacks):
    """A Markdown report as of a day, requested through the report page by a WG member."""
    client.force_login(member)

    def make(as_of, since=None) -> str:
        Report.objects.all().delete()
        report = request_report(client, django_capture_on_commit_callbacks, format="md",
                                as_of=as_of.isoformat(), since=since.isoformat() if since else "")
        assert report.status == Report.Status.DONE, report.error
        return download(client, report).decode()

    return make


def test_a_report_made_weeks_later_is_the_report_made_on_the_day(story, report_of):
    with on(D, hour=18):
        made_on_the_day = report_of(D, since=story_day(4))

    cms = section(made_on_the_day, "CMS")
    assert "2 sites: expired, still relied on" not in cms
    assert "1 site: expired, still relied on." in cms
    assert "1 site: expiring within 30 days." in cms
    assert "JAliEn services deployed at the site: 1 of 1 sites" in section(made_on_the_day,
                                                                          "ALICE")

    # The weeks after the meeting: reports, renewals, revocations, expiries, a rule changed,
    # a site added, one retired, a migration step recorded.
    story()
    with on(story_day(45)):
        made_later = report_of(D, since=story_day(4))
        today = report_of(story_day(45))

    assert made_later == made_on_the_day
    # While today's report has moved on.
    assert today != made_on_the_day
    assert "expired, still relied on" not in subsection(section(today, "CMS"), "Exceptions")


def test_a_lapse_noticed_days_later_is_dated_when_it_happened(reference, report_of):
    with on(story_day(1)):
        d = make_site("CH-D", serves=("cms",), container_runtime="none")
        grant(d, story_day(1), story_day(5))
    with on(story_day(12)):  # nothing read the status since the exception lapsed on day 6
        report = report_of(story_day(7))

    assert [row[:2] for row in table_rows(subsection(section(report, "CMS"), "Figures"))] == [
        ["Not isolated", "1"]]
    granted, lapsed = AssessmentChange.objects.filter(
        site=d, event=AssessmentChange.Event.CHANGED).order_by("changed_at")
    assert (granted.new_scenario.slug, granted.changed_at.date()) == (
        "transition-exception", story_day(1))
    assert (lapsed.new_scenario.slug, lapsed.changed_at.date()) == ("not-isolated", story_day(6))
