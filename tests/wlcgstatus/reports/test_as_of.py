"""A report as of a past day counts each site as it was that day: its scenario, its workloads,
and only the sites there already."""

from __future__ import annotations

from sites.updates import record_capabilities
from wlcgstatus.reports import render
from wlcgstatus.reports.compose import compose

from ...factories.sites import NO_CONTAINERS, make_site
from ...helpers import on, section, story_day, subsection, table_rows


def cms_scenarios(report) -> dict[str, int]:
    summary = next(s.summary for s in report.sections if s.experiment.slug == "cms")
    return {figure.label: figure.count for figure in summary.scenarios}


def test_a_report_as_of_a_past_day_counts_each_site_in_its_scenario_of_that_day(reference):
    with on(story_day(1)):
        changing = make_site("CH-CHANGING", serves=("cms",), container_runtime="none")
        make_site("CH-STEADY", serves=("cms",), container_runtime="singularity")
    with on(story_day(10)):
        record_capabilities(changing, {"container_runtime": "apptainer"})

    with on(story_day(13)):
        before, after = compose(as_of=story_day(5)), compose(as_of=story_day(12))
        before_md = render.as_markdown(before).decode()
        after_md = render.as_markdown(after).decode()
    assert cms_scenarios(before) == {"Isolated in containers": 1, "Not isolated": 1}
    assert cms_scenarios(after) == {"Isolated in containers": 2}
    assert [r[:2] for r in table_rows(subsection(section(before_md, "CMS"), "Figures"))] == [
        ["Isolated in containers", "1"], ["Not isolated", "1"]]
    assert [r[:2] for r in table_rows(subsection(section(after_md, "CMS"), "Figures"))] == [
        ["Isolated in containers", "2"]]
    assert "As of 5 March 2026" in before_md and "As of 12 March 2026" in after_md


def test_a_past_report_counts_the_workloads_allowed_on_that_day(reference):
    with on(story_day(1)):
        site = make_site("CH-ALICE", serves=("alice",), **NO_CONTAINERS)
    with on(story_day(10)):
        record_capabilities(site, {"container_runtime": "singularity"})
    with on(story_day(13)):
        report = compose(as_of=story_day(5))
    alice = next(s for s in report.sections if s.experiment.slug == "alice")
    assert [(f.label, f.count) for f in alice.summary.scenarios] == [("Production only", 1)]
    assert alice.workloads == [("Production jobs only", 1)]


def test_a_past_report_leaves_out_a_site_that_joined_later(reference):
    with on(story_day(1)):
        make_site("CH-OLD", serves=("cms",), container_runtime="singularity")
    with on(story_day(10)):
        make_site("CH-NEW", serves=("cms",), container_runtime="singularity")
    with on(story_day(13)):
        report = compose(as_of=story_day(5))
    summary = next(s.summary for s in report.sections if s.experiment.slug == "cms")
    assert summary.total == 1
    assert cms_scenarios(report) == {"Isolated in containers": 1}
