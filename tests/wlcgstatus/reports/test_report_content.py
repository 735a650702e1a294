"""The meeting report carries each statement of the WG's status text and the figures behind it,
those of the stored assessments and site data."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db.models import Count, Q

from experiments.models import Experiment, Migration, Scenario
from sites.management.commands.build_demo_fixture import DEMO_DATE
from sites.models import Assessment, SiteException, SiteMigration
from wlcgstatus.reports import render
from wlcgstatus.reports.compose import compose

from ...helpers import REPORT_TITLE, on, plain, section, subsection, table_rows


@pytest.fixture(scope="module")
def demo_markdown(demo_database, django_db_blocker) -> str:
    """The Markdown report of the demo data as of the demo day, made once for the module."""
    with django_db_blocker.unblock(), on(DEMO_DATE):
        return render.as_markdown(compose(as_of=DEMO_DATE)).decode()


STATEMENTS = [
    ("ALICE", ["move users and sites from the legacy AliEn system to the new JAliEn grid "
               "framework in the course of LS2"]),
    ("ALICE", ["pilot jobs will be equipped with a Job Agent token that is allowed to contact "
               "ALICE central services to obtain a user payload"]),
    ("ALICE", ["a token that is specific to that payload and will be used by that payload to "
               "interact with the central services for any data management operations"]),
    ("ALICE", ["Wherever containers can conveniently be used by jobs, e.g. through Singularity, "
               "the Job Agent will make use of them to isolate the payloads"]),
    ("ALICE", ["Where containers cannot really be used, the payload will not be isolated",
               "configured to run production jobs only, i.e. no user jobs"]),
    ("ATLAS", ["At sites where the payload is containerized there will be two proxies: one for "
               "the pilot to carry out its tasks and a user robot proxy without roles for the "
               "payload", "The payload will have access only to the user robot proxy",
               "Using containers to isolate user payloads from VO pilots"]),
    ("ATLAS", ["At sites where the payload cannot be containerized ATLAS will run in push mode "
               "and there will be no pilot proxy, only the user robot proxy",
               "Using VO pilots without VO framework capabilities"]),
    ("ATLAS", ["At sites with no network connectivity there will be no proxy at all"]),
    ("CMS", ["CMS requires all of its sites to provide Singularity to the pilots",
             "Using containers to isolate user payloads from VO pilots"]),
    ("CMS", ["Short term exception for sites deploying Singularity: a transition measure"]),
    ("CMS", ["HPC systems: planned to be used only for production workloads"]),
    ("LHCb", ["focused on isolating the whole pilot with Singularity (not isolating the payload "
              "from the pilot)"]),
    ("LHCb", ["On the long term",
              "implement a second layer of Singularity/container isolation for the user "
              "payloads"]),
]


@pytest.mark.parametrize(("experiment", "phrases"), STATEMENTS,
                         ids=[" / ".join(p)[:60] for _e, p in STATEMENTS])
def test_the_report_carries_each_statement_of_the_wg_status_text(
        demo_markdown, experiment, phrases):
    text = plain(section(demo_markdown, experiment))
    for phrase in phrases:
        assert plain(phrase) in text, f"{experiment}: “{phrase}” is missing from the report"


def test_the_report_has_the_title_and_says_its_data_are_illustrative(demo_markdown):
    assert demo_markdown.splitlines()[0] == f"# {REPORT_TITLE}"
    intro = plain(demo_markdown.split("\n## ", 1)[0])
    assert "As of 26 November 2026" in intro
    assert "The capability values behind these figures are illustrative demo data" in intro
    assert [heading[3:] for heading in re.findall(r"^## .+$", demo_markdown, re.MULTILINE)] == [
        "ALICE", "ATLAS", "CMS", "LHCb"]


def test_the_reports_figures_are_those_of_the_stored_assessments_and_site_data(demo):
    markdown = render.as_markdown(compose(as_of=DEMO_DATE)).decode()
    scenarios = {s.id: s for s in Scenario.objects.all()}
    for experiment in Experiment.objects.all():
        text = section(markdown, experiment.name)
        figures = subsection(text, "Figures")
        counts = dict(Assessment.objects.filter(experiment=experiment)
                      .values_list("scenario_id").annotate(n=Count("id")))
        total = sum(counts.values())
        assert f"{total} sites serve {experiment.name}." in figures

        # The scenario table: one row per scenario holding sites, best first, then the sites
        # of unknown scenario.
        known = {s: n for s, n in counts.items() if s is not None}
        expected_rows = [[scenarios[s].short_name, str(n)] for s, n in
                         sorted(known.items(), key=lambda item: scenarios[item[0]].position)]
        if None in counts:
            expected_rows.append(["Unknown", str(counts[None])])
        rows = table_rows(figures)
        assert [row[:2] for row in rows] == expected_rows
        for (_label, count, share) in rows:
            assert abs(int(share.rstrip("%")) - 100 * int(count) / total) < 1
        assert sum(int(share.rstrip("%")) for _label, _count, share in rows) == 100

        # The compliance line: every class, with the sites whose scenario is in it.
        line = re.search(r"^Compliance: (.*)\.$", figures, re.MULTILINE).group(1)
        by_class = Counter()
        for scenario_id, n in counts.items():
            label = (scenarios[scenario_id].get_compliance_display() if scenario_id
                     else "Unknown")
            by_class[label.lower()] += n
        shown = {label: (int(n), int(pct)) for label, n, pct in
                 re.findall(r"([\w-]+) (\d+) \((\d+)%\)", line)}
        assert set(shown) == {"target", "acceptable", "interim", "non-compliant", "unknown"}
        for label, (n, pct) in shown.items():
            assert n == by_class[label], f"{experiment}: {label}"
            assert abs(pct - 100 * n / total) < 1, line
        assert sum(pct for _n, pct in shown.values()) == 100, line  # largest remainder

        # Migrations: “N of M sites” per step, from the sites' migration states; every site
        # serving the experiment takes part.
        migrations = list(Migration.objects.filter(experiment=experiment))
        if migrations:
            part = subsection(text, "Migrations")
            for migration in migrations:
                states = SiteMigration.objects.filter(migration=migration)
                assert f"**{migration.name}** ({total} sites)" in part
                for step in migration.steps.all():
                    done = states.filter(completed_step__position__gte=step.position).count()
                    assert f"- {step.name}: {done} of {total} sites" in part
        else:
            assert "### Migrations" not in text

        # Exceptions: every active one with its dates, soonest expiry first.
        active = (SiteException.objects.filter(experiment=experiment, granted_on__lte=DEMO_DATE)
                  .filter(Q(expires_on=None) | Q(expires_on__gte=DEMO_DATE))
                  .filter(Q(revoked_on=None) | Q(revoked_on__gt=DEMO_DATE))
                  .order_by("expires_on", "site__name"))
        part = subsection(text, "Exceptions")
        assert table_rows(part) == [
            [e.site.name, e.kind.name, e.granted_on.isoformat(),
             e.expires_on.isoformat() if e.expires_on else "no expiry"] for e in active]
        if not active:
            assert "No active exception." in part
    # The demo grants CMS exceptions only; the report must show some to be worth checking.
    assert SiteException.objects.filter(experiment__slug="cms").exists()
    assert table_rows(subsection(section(markdown, "CMS"), "Exceptions"))
