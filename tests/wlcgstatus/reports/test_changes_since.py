"""What changed since the last meeting: exactly the edits made in the period, scenario changes,
exceptions granted, renewed, expired and revoked, and migration steps done."""

from __future__ import annotations

import pytest

from sites.recompute import recompute
from sites.updates import record_capabilities
from wlcgstatus.reports import render
from wlcgstatus.reports.compose import compose

from ...factories.exceptions import grant, renew
from ...factories.sites import make_site
from ...helpers import bullets, on, section, story_day, subsection


@pytest.fixture
def a_month_of_changes(reference):
    """Day 1: the starting state. Day 5 (before `since`, day 10), days 12-18 (in the period)
    and day 25 (after `as_of`, day 20): edits of every kind the report lists."""
    with on(story_day(1)):
        sites = {name: make_site(name, serves=("cms",), container_runtime="none") for name in (
            "CH-CAPABILITY", "CH-GRANTED", "CH-RENEWED", "CH-EXPIRED", "CH-REVOKED",
            "CH-BEFORE", "CH-AFTER")}
        sites["CH-MIGRATED"] = make_site("CH-MIGRATED", serves=("cms",),
                                         container_runtime="singularity")
        renewed = grant(sites["CH-RENEWED"], story_day(1), story_day(40))
        grant(sites["CH-EXPIRED"], story_day(1), story_day(15))
        revoked = grant(sites["CH-REVOKED"], story_day(1), story_day(60))

    with on(story_day(5)):  # before the period
        record_capabilities(sites["CH-BEFORE"], {"container_runtime": "singularity"})
        renew(renewed, story_day(50), "First renewal, before the meeting")

    with on(story_day(12)):  # which also completes CMS's Singularity step
        record_capabilities(sites["CH-CAPABILITY"], {"container_runtime": "singularity"})
    with on(story_day(13)):
        grant(sites["CH-GRANTED"], story_day(13), story_day(100))
    with on(story_day(14)):
        renew(renewed, story_day(80), "Singularity deployment delayed")
    # CH-EXPIRED's exception applies for the last time on day 15; the nightly recomputation
    # of day 16 notices.
    with on(story_day(16), hour=1):
        recompute()
    with on(story_day(17)):
        revoked.revoked_on = story_day(17)
        revoked.save()

    with on(story_day(25)):  # after the period
        grant(sites["CH-AFTER"], story_day(25), story_day(90))
        record_capabilities(sites["CH-AFTER"], {"container_runtime": "apptainer"})
        renew(renewed, story_day(120), "Renewed again, after the meeting")
    return sites


def test_changes_since_list_exactly_the_edits_made_in_the_period(a_month_of_changes):
    with on(story_day(26)):
        report = compose(as_of=story_day(20), since=story_day(10))
        markdown = render.as_markdown(report).decode()
    changes = {s.experiment.slug: s.changes for s in report.sections}

    assert [(c.site, c.old.slug, c.new.slug, c.when.date()) for c in changes["cms"].scenarios] == [
        ("CH-CAPABILITY", "not-isolated", "containers-isolate-payloads", story_day(12)),
        ("CH-EXPIRED", "transition-exception", "not-isolated", story_day(16)),
        ("CH-GRANTED", "not-isolated", "transition-exception", story_day(13)),
        ("CH-REVOKED", "transition-exception", "not-isolated", story_day(17)),
    ]
    assert [(e.site, e.what, e.day, e.expires_on) for e in changes["cms"].exceptions] == [
        ("CH-GRANTED", "granted", story_day(13), story_day(100)),
        ("CH-RENEWED", "renewed", story_day(14), story_day(80)),
        ("CH-EXPIRED", "expired", story_day(15), story_day(15)),
        ("CH-REVOKED", "revoked", story_day(17), story_day(60)),
    ]
    assert changes["cms"].exceptions[1].reason == "Singularity deployment delayed"
    # The step follows the assessment: done the day the site reported Singularity.
    assert [(s.site, s.migration, s.step, s.day) for s in changes["cms"].steps] == [
        ("CH-CAPABILITY", "Singularity at every CMS site", "Singularity provided to the pilots",
         story_day(12)),
    ]
    for slug in ("alice", "atlas", "lhcb"):
        assert not changes[slug]

    kind = "Short-term exception while deploying Singularity"
    cms_changes = subsection(section(markdown, "CMS"), "Changes since")
    assert bullets(cms_changes) == [
        "- CH-CAPABILITY: Not isolated → Isolated in containers (2026-03-12)",
        "- CH-EXPIRED: Transition exception → Not isolated (2026-03-16)",
        "- CH-GRANTED: Not isolated → Transition exception (2026-03-13)",
        "- CH-REVOKED: Transition exception → Not isolated (2026-03-17)",
        f"- CH-GRANTED: exception “{kind}” granted on 2026-03-13, until 2026-06-08",
        f"- CH-RENEWED: exception “{kind}” renewed on 2026-03-14, until 2026-05-19",
        f"- CH-EXPIRED: exception “{kind}” expired on 2026-03-15",
        f"- CH-REVOKED: exception “{kind}” revoked on 2026-03-17",
        "- CH-CAPABILITY: Singularity at every CMS site, Singularity provided to the pilots "
        "(2026-03-12)",
    ]
    assert "### Changes since 10 March 2026" in markdown
    assert "CH-BEFORE" not in cms_changes and "CH-AFTER" not in cms_changes
    for name in ("ALICE", "ATLAS", "LHCb"):
        assert subsection(section(markdown, name), "Changes since").strip() == "None."


def test_a_report_without_since_has_no_changes_section(a_month_of_changes):
    with on(story_day(26)):
        report = compose(as_of=story_day(20))
        markdown = render.as_markdown(report).decode()
    assert all(s.changes is None for s in report.sections)
    assert "Changes since" not in markdown


def test_an_expiry_in_the_period_stays_listed_when_the_exception_is_renewed_later(reference):
    with on(story_day(1)):
        site = make_site("CH-LAPSED", serves=("cms",), container_runtime="none")
        exception = grant(site, story_day(1), story_day(15))
    with on(story_day(25)):
        renew(exception, story_day(90), "Renewed after the meeting")
        report = compose(as_of=story_day(20), since=story_day(10))
    cms_section = next(s for s in report.sections if s.experiment.slug == "cms")
    assert [(e.site, e.what, e.day) for e in cms_section.changes.exceptions] == [
        ("CH-LAPSED", "expired", story_day(15))]
    assert cms_section.exceptions == []  # not active at the end of day 20
