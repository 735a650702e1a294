"""A report as of a day, made later, is the report made on that day: figure for figure and line
for line, whatever happened since."""

from __future__ import annotations

import pytest

from experiments.models import PolicyRule
from sites.models import AssessmentChange, Site
from sites.updates import record_capabilities
from wlcgstatus.models import Report
from wlcgstatus.snapshots import take_snapshot

from ...factories.exceptions import grant, renew
from ...factories.sites import make_site, record_step
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


def test_a_report_made_weeks_later_is_the_report_made_on_the_day(reference, report_of):
    with on(story_day(1)):
        a = make_site("CH-A", serves=("cms",), container_runtime="none")
        make_site("CH-B", serves=("cms",), container_runtime="singularity")
        c = make_site("CH-C", serves=("alice", "atlas"), container_runtime="singularity")
        d = make_site("CH-D", serves=("cms",), container_runtime="none")
        expiring = grant(a, story_day(1), story_day(30))  # expires within 30 days of D
        grant(d, story_day(1), story_day(5))  # lapses before D, still relied on
    with on(story_day(3)):
        record_step(c, "alice", "alien-to-jalien", 1)
    with on(story_day(6)):
        record_capabilities(c, {"cvmfs": "yes"})
    for n in range(1, 10):  # the nightly counts, as beat takes them
        with on(story_day(n), hour=23):
            take_snapshot(story_day(n))
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
    with on(story_day(12)):
        record_capabilities(a, {"container_runtime": "singularity"})
    with on(story_day(15)):
        renew(d.exceptions.get(), story_day(90), "Singularity delayed")
    with on(story_day(18)):
        expiring.revoked_on = story_day(18)
        expiring.save()
    with on(story_day(20)):
        rule = PolicyRule.objects.get(experiment__slug="cms", position=2)
        rule.allows_user_jobs = False
        rule.save()
    with on(story_day(25)):
        make_site("CH-E", serves=("cms", "alice"), container_runtime="apptainer")
        c.retired_on = story_day(25)
        c.save()
    with on(story_day(30)):
        record_step(Site.objects.get(name="CH-E"), "alice", "alien-to-jalien", 2)
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
