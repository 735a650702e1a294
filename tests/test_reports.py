"""Meeting reports, snapshots and reminders as the WG uses them: the report carries the WG's
status text and the figures behind it, lists what changed since the last meeting, can be made
as of a past day, is requested, watched and downloaded through the pages in every format, says
why when it fails and can be retried, and the dashboard keeps working without a task queue.
Nightly snapshots count what the assessments say; reminders go out on their days."""

from __future__ import annotations

import base64
import csv
import datetime
import io
import re
import shutil
import subprocess
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Q

from experiments.models import ExceptionKind, Experiment, Migration, Scenario
from sites.management.commands.build_demo_fixture import DEMO_DATE
from sites.models import Assessment, Site, SiteException, SiteMigration
from sites.permissions import WG_MEMBERS
from sites.recompute import recompute
from sites.updates import record_capabilities
from wlcgstatus.celery import app as celery_app
from wlcgstatus.models import MigrationCount, Report, ScenarioCount
from wlcgstatus.queue import queue_available
from wlcgstatus.reminders import send_reminders
from wlcgstatus.reports import render
from wlcgstatus.reports.compose import compose
from wlcgstatus.snapshots import take_snapshot
from wlcgstatus.tasks import remind

from .factories import make_site

TITLE = "WLCG Traceability and Isolation WG: Current status"
PNG = b"\x89PNG\r\n\x1a\n"
START = datetime.date(2026, 3, 1)  # “day 1” of the tests that let days pass


def day(n: int) -> datetime.date:
    """Day n of a test's story, day 1 being START."""
    return START + datetime.timedelta(days=n - 1)


def on(date: datetime.date, hour: int = 12):
    """The clock stopped at that hour of that day (UTC, the project's time zone)."""
    return time_machine.travel(
        datetime.datetime.combine(date, datetime.time(hour), tzinfo=datetime.UTC), tick=False)


def plain(text: str) -> str:
    """Markdown text as read: emphasis markers dropped, whitespace collapsed."""
    return " ".join(text.replace("*", "").split())


def section(markdown: str, experiment: str) -> str:
    """One experiment's part of the Markdown report, from its heading to the next."""
    match = re.search(rf"^## {re.escape(experiment)}\n(.*?)(?=^## |\Z)", markdown,
                      re.MULTILINE | re.DOTALL)
    assert match, f"no section for {experiment} in the report"
    return match.group(1)


def subsection(text: str, heading: str) -> str:
    """A `### heading…` part of a section, up to the next such heading."""
    match = re.search(rf"^### {re.escape(heading)}[^\n]*\n(.*?)(?=^### |\Z)", text,
                      re.MULTILINE | re.DOTALL)
    assert match, f"no “{heading}” heading in:\n{text}"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in the text, cell by cell."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [row for row in rows if row[0] not in ("Scenario", "Site")]  # headers


def bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def cms() -> Experiment:
    return Experiment.objects.get(slug="cms")


def grant(site: Site, granted_on: datetime.date, expires_on: datetime.date) -> SiteException:
    return SiteException.objects.create(
        site=site, experiment=cms(), kind=ExceptionKind.objects.get(slug="singularity-transition"),
        reason="Deploying Singularity", granted_by="WG", granted_on=granted_on,
        expires_on=expires_on)


def renew(exception: SiteException, expires_on: datetime.date, why: str) -> None:
    exception.expires_on = expires_on
    exception._change_reason = why
    exception.save()


def download(client, report: Report) -> bytes:
    response = client.get(f"/reports/{report.pk}/download/")
    assert response.status_code == 200
    # Reading the stream to its end closes the file, as a WSGI server would.
    return b"".join(response.streaming_content)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("wanda", "wg@example.org", "secret")


def request_report(client, callbacks, **data) -> Report:
    """POST the report form as the signed-in user; the task runs once the request commits."""
    with callbacks(execute=True):
        response = client.post("/reports/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    report = Report.objects.get()
    assert response["Location"] == f"/reports/{report.pk}/"
    return report


# --- 1. The report carries the WG's status text and the figures behind it ------------------

@pytest.fixture(scope="module")
def demo_markdown(django_db_setup, django_db_blocker) -> str:
    """The Markdown report of the demo data as of the demo day, made once for the module in
    a transaction that is rolled back afterwards."""
    with (django_db_blocker.unblock(), on(DEMO_DATE), transaction.atomic()):
        call_command("loaddata", "reference", "demo", verbosity=0)
        recompute()
        markdown = render.as_markdown(compose(as_of=DEMO_DATE)).decode()
        transaction.set_rollback(True)
    return markdown


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
    assert demo_markdown.splitlines()[0] == f"# {TITLE}"
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

        # The scenario table: one row per scenario holding sites, best first.
        expected_rows = [[scenarios[s].short_name, str(n)] for s, n in
                         sorted(counts.items(), key=lambda item: scenarios[item[0]].position)]
        rows = table_rows(figures)
        assert [row[:2] for row in rows] == expected_rows
        for (_label, count, share) in rows:
            assert abs(float(share.rstrip("%")) - 100 * int(count) / total) <= 0.05

        # The compliance line: every class, with the sites whose scenario is in it.
        line = re.search(r"^Compliance: (.*)\.$", figures, re.MULTILINE).group(1)
        by_class = Counter()
        for scenario_id, n in counts.items():
            by_class[scenarios[scenario_id].get_compliance_display().lower()] += n
        shown = {label: (int(n), int(pct)) for label, n, pct in
                 re.findall(r"([\w-]+) (\d+) \((\d+)%\)", line)}
        assert set(shown) == {"target", "acceptable", "interim", "non-compliant"}
        for label, (n, pct) in shown.items():
            assert n == by_class[label], f"{experiment}: {label}"
            exact = Decimal(100 * n) / Decimal(total)
            assert pct == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)), line

        # Migrations: “N of M sites” per step, from the sites' migration states.
        migrations = list(Migration.objects.filter(experiment=experiment))
        if migrations:
            part = subsection(text, "Migrations")
            for migration in migrations:
                states = SiteMigration.objects.filter(migration=migration)
                assert f"**{migration.name}** ({states.count()} sites)" in part
                for step in migration.steps.all():
                    done = states.filter(completed_step__position__gte=step.position).count()
                    assert f"- {step.name}: {done} of {states.count()} sites" in part
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


# --- 2. What changed since the last meeting ------------------------------------------------

@pytest.fixture
def a_month_of_changes(reference):
    """Day 1: the starting state. Day 5 (before `since`, day 10), days 12-18 (in the period)
    and day 25 (after `as_of`, day 20): edits of every kind the report lists."""
    with on(day(1)):
        sites = {name: make_site(name, serves=("cms",), container_runtime="none") for name in (
            "CH-CAPABILITY", "CH-GRANTED", "CH-RENEWED", "CH-EXPIRED", "CH-REVOKED",
            "CH-BEFORE", "CH-AFTER")}
        sites["CH-MIGRATED"] = make_site("CH-MIGRATED", serves=("cms",),
                                         container_runtime="singularity")
        renewed = grant(sites["CH-RENEWED"], day(1), day(40))
        grant(sites["CH-EXPIRED"], day(1), day(15))
        revoked = grant(sites["CH-REVOKED"], day(1), day(60))
        rollout = Migration.objects.get(slug="singularity-rollout")
        migrated = SiteMigration.objects.create(site=sites["CH-MIGRATED"], migration=rollout)
    step = rollout.steps.get(position=1)

    with on(day(5)):  # before the period
        record_capabilities(sites["CH-BEFORE"], {"container_runtime": "singularity"})
        SiteMigration.objects.create(site=sites["CH-BEFORE"], migration=rollout,
                                     completed_step=step)
        renew(renewed, day(50), "First renewal, before the meeting")

    with on(day(12)):
        record_capabilities(sites["CH-CAPABILITY"], {"container_runtime": "singularity"})
    with on(day(13)):
        grant(sites["CH-GRANTED"], day(13), day(100))
    with on(day(14)):
        renew(renewed, day(80), "Singularity deployment delayed")
    # CH-EXPIRED's exception applies for the last time on day 15; the nightly recomputation
    # of day 16 notices.
    with on(day(16), hour=1):
        recompute()
    with on(day(17)):
        revoked.revoked_on = day(17)
        revoked.save()
    with on(day(18)):
        migrated.completed_step = step
        migrated.updated_on = day(18)
        migrated.save()

    with on(day(25)):  # after the period
        grant(sites["CH-AFTER"], day(25), day(90))
        SiteMigration.objects.create(site=sites["CH-AFTER"], migration=rollout,
                                     completed_step=step)
        renew(renewed, day(120), "Renewed again, after the meeting")
    return sites


def test_changes_since_list_exactly_the_edits_made_in_the_period(a_month_of_changes):
    with on(day(26)):
        report = compose(as_of=day(20), since=day(10))
        markdown = render.as_markdown(report).decode()
    changes = {s.experiment.slug: s.changes for s in report.sections}

    assert [(c.site, c.old.slug, c.new.slug, c.when.date()) for c in changes["cms"].scenarios] == [
        ("CH-CAPABILITY", "not-isolated", "containers-isolate-payloads", day(12)),
        ("CH-EXPIRED", "transition-exception", "not-isolated", day(16)),
        ("CH-GRANTED", "not-isolated", "transition-exception", day(13)),
        ("CH-REVOKED", "transition-exception", "not-isolated", day(17)),
    ]
    assert [(e.site, e.what, e.day, e.expires_on) for e in changes["cms"].exceptions] == [
        ("CH-GRANTED", "granted", day(13), day(100)),
        ("CH-RENEWED", "renewed", day(14), day(80)),
        ("CH-EXPIRED", "expired", day(15), day(15)),
        ("CH-REVOKED", "revoked", day(17), day(60)),
    ]
    assert changes["cms"].exceptions[1].reason == "Singularity deployment delayed"
    assert [(s.site, s.migration, s.step, s.day) for s in changes["cms"].steps] == [
        ("CH-MIGRATED", "Singularity at every CMS site", "Singularity provided to the pilots",
         day(18)),
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
        "- CH-MIGRATED: Singularity at every CMS site, Singularity provided to the pilots "
        "(2026-03-18)",
    ]
    assert "### Changes since 10 March 2026" in markdown
    assert "CH-BEFORE" not in cms_changes and "CH-AFTER" not in cms_changes
    for name in ("ALICE", "ATLAS", "LHCb"):
        assert subsection(section(markdown, name), "Changes since").strip() == "None."


def test_a_report_without_since_has_no_changes_section(a_month_of_changes):
    with on(day(26)):
        report = compose(as_of=day(20))
        markdown = render.as_markdown(report).decode()
    assert all(s.changes is None for s in report.sections)
    assert "Changes since" not in markdown


def test_an_expiry_in_the_period_stays_listed_when_the_exception_is_renewed_later(reference):
    with on(day(1)):
        site = make_site("CH-LAPSED", serves=("cms",), container_runtime="none")
        exception = grant(site, day(1), day(15))
    with on(day(25)):
        renew(exception, day(90), "Renewed after the meeting")
        report = compose(as_of=day(20), since=day(10))
    cms_section = next(s for s in report.sections if s.experiment.slug == "cms")
    assert [(e.site, e.what, e.day) for e in cms_section.changes.exceptions] == [
        ("CH-LAPSED", "expired", day(15))]
    assert cms_section.exceptions == []  # not active at the end of day 20


# --- 3. As of a past day ---------------------------------------------------------------------

def cms_scenarios(report) -> dict[str, int]:
    summary = next(s.summary for s in report.sections if s.experiment.slug == "cms")
    return {figure.label: figure.count for figure in summary.scenarios}


def test_a_report_as_of_a_past_day_counts_each_site_in_its_scenario_of_that_day(reference):
    with on(day(1)):
        changing = make_site("CH-CHANGING", serves=("cms",), container_runtime="none")
        make_site("CH-STEADY", serves=("cms",), container_runtime="singularity")
    with on(day(10)):
        record_capabilities(changing, {"container_runtime": "apptainer"})

    with on(day(13)):
        before, after = compose(as_of=day(5)), compose(as_of=day(12))
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
    with on(day(1)):
        site = make_site("CH-ALICE", serves=("alice",), container_runtime="none")
    with on(day(10)):
        record_capabilities(site, {"container_runtime": "singularity"})
    with on(day(13)):
        report = compose(as_of=day(5))
    alice = next(s for s in report.sections if s.experiment.slug == "alice")
    assert [(f.label, f.count) for f in alice.summary.scenarios] == [("Production only", 1)]
    assert alice.workloads == [("Production jobs only", 1)]


def test_a_past_report_leaves_out_a_site_that_joined_later(reference):
    with on(day(1)):
        make_site("CH-OLD", serves=("cms",), container_runtime="singularity")
    with on(day(10)):
        make_site("CH-NEW", serves=("cms",), container_runtime="singularity")
    with on(day(13)):
        report = compose(as_of=day(5))
    summary = next(s.summary for s in report.sections if s.experiment.slug == "cms")
    assert summary.total == 1
    assert cms_scenarios(report) == {"Isolated in containers": 1}


# --- 4. Through the pages --------------------------------------------------------------------

@pytest.fixture
def a_few_sites(reference, on_demo_date):
    make_site("CH-ONE", serves=("cms", "atlas"), container_runtime="singularity")
    make_site("CH-TWO", serves=("cms", "lhcb"), container_runtime="none")
    make_site("CH-THREE", serves=("alice",), container_runtime="none")


def test_a_signed_in_user_requests_a_report_and_downloads_it(
        client, member, a_few_sites, media, django_capture_on_commit_callbacks):
    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-26", since="2026-10-01", format="md")
    assert report.status == Report.Status.DONE
    assert report.progress == 100
    assert report.requested_by == member
    assert report.finished_at is not None

    page = client.get(f"/reports/{report.pk}/")
    assert page.status_code == 200
    assert f'href="/reports/{report.pk}/download/"' in page.content.decode()

    response = client.get(f"/reports/{report.pk}/download/")
    assert response.status_code == 200
    filename = "wlcg-isolation-status-2026-11-26-since-2026-10-01.md"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    content = b"".join(response.streaming_content).decode()
    assert content.startswith(f"# {TITLE}")
    assert "changes since 1 October 2026" in content

    listing = client.get("/reports/").content.decode()
    assert f'href="/reports/{report.pk}/download/"' in listing
    assert "2026-11-26" in listing and "2026-10-01" in listing
    assert download(client, report).decode() == content  # and again, later


def test_the_status_json_gives_status_progress_and_the_download_url(
        client, member, a_few_sites, media, django_capture_on_commit_callbacks):
    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-20", format="md")
    assert client.get(f"/reports/{report.pk}/status/").json() == {
        "status": "done", "progress": 100, "step": "Done", "error": "",
        "download": f"/reports/{report.pk}/download/"}

    queued = Report.objects.create(as_of=datetime.date(2026, 11, 1), format="pdf")
    assert client.get(f"/reports/{queued.pk}/status/").json() == {
        "status": "queued", "progress": 0, "step": "", "error": "", "download": None}
    assert client.get(f"/reports/{queued.pk}/download/").status_code == 404
    assert client.get("/reports/999999/status/").status_code == 404


def test_anonymous_users_must_sign_in_to_request_but_can_download(
        client, member, a_few_sites, media, django_capture_on_commit_callbacks):
    response = client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reports/new/"
    assert not Report.objects.exists()
    listing = client.get("/reports/").content.decode()
    assert 'href="/accounts/login/?next=/reports/"' in listing
    assert 'action="/reports/new/"' not in listing

    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-26", format="md")
    client.logout()
    assert download(client, report).startswith(f"# {TITLE}".encode())
    assert client.get(f"/reports/{report.pk}/").status_code == 200
    assert client.get(f"/reports/{report.pk}/status/").json()["status"] == "done"
    retry = client.post(f"/reports/{report.pk}/retry/")
    assert retry["Location"] == f"/accounts/login/?next=/reports/{report.pk}/retry/"


@pytest.mark.parametrize(("data", "message"), [
    ({"as_of": "2026-11-27", "since": "", "format": "md"},
     "A report cannot be made of a day still to come."),
    ({"as_of": "2026-11-01", "since": "2026-11-10", "format": "pdf"},
     "The earlier day must come before the report&#x27;s day."),
    ({"as_of": "2026-11-01", "since": "2026-11-01", "format": "csv"},
     "The earlier day must come before the report&#x27;s day."),
], ids=["as-of-in-the-future", "since-after-as-of", "since-equal-to-as-of"])
def test_an_invalid_request_is_shown_again_with_the_message_and_the_entries(
        client, member, a_few_sites, media, data, message):
    client.force_login(member)
    response = client.post("/reports/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert f'value="{data["as_of"]}"' in html
    if data["since"]:
        assert f'value="{data["since"]}"' in html
    assert re.search(rf'value="{data["format"]}"[^>]*checked', html)
    assert not Report.objects.exists()


# --- 5. Every format -------------------------------------------------------------------------

KALEIDO = pytest.mark.filterwarnings("ignore:The kopts argument is ignored:UserWarning")


@pytest.fixture
def demo_report(client, member, demo, media, django_capture_on_commit_callbacks):
    """Make a report of the demo data in a format, through the pages; returns its bytes."""
    client.force_login(member)

    def make(fmt: str) -> bytes:
        report = request_report(client, django_capture_on_commit_callbacks,
                                as_of=DEMO_DATE.isoformat(), since="2026-10-01", format=fmt)
        assert report.status == Report.Status.DONE, report.error
        response = client.get(f"/reports/{report.pk}/download/")
        assert response["Content-Disposition"] == (
            f'attachment; filename="wlcg-isolation-status-2026-11-26-since-2026-10-01.{fmt}"')
        return b"".join(response.streaming_content)

    return make


def test_the_markdown_report_is_text(demo_report):
    text = demo_report("md").decode("utf-8")
    assert text.startswith(f"# {TITLE}\n")
    for name in ("ALICE", "ATLAS", "CMS", "LHCb"):
        assert f"\n## {name}\n" in text
    assert "<img" not in text and "<h2" not in text  # Markdown, not HTML


@KALEIDO
def test_the_html_report_embeds_a_png_chart_per_experiment_and_nothing_from_elsewhere(
        demo_report):
    html = demo_report("html").decode("utf-8")
    assert f"<h1>{TITLE}</h1>" in html
    for name in ("ALICE", "ATLAS", "CMS", "LHCb"):
        match = re.search(rf'<img class="chart" src="data:image/png;base64,([A-Za-z0-9+/=]+)" '
                          rf'alt="{name} sites by scenario">', html)
        assert match, f"no chart for {name}"
        assert base64.b64decode(match.group(1)).startswith(PNG)
    assert len(re.findall(r"<img ", html)) == 4
    without_data = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", html)
    for external in (r"\b(?:https?|ftp):", r"""(?:src|href)\s*=\s*["']?//""",
                     r"url\(\s*['\"]?//", r"@import"):
        assert not re.search(external, without_data, re.IGNORECASE), external


@KALEIDO
def test_the_pdf_report_is_a_pdf_with_the_title_and_every_experiment_on_its_pages(
        demo_report, tmp_path):
    pdf = demo_report("pdf")
    assert pdf.startswith(b"%PDF")
    if not shutil.which("pdftotext") or not shutil.which("pdftoppm"):
        pytest.skip("pdftotext/pdftoppm (poppler-utils) are not installed: the PDF's text and "
                    "pages cannot be checked")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert TITLE in " ".join(text.split())
    for name in ("ALICE", "ATLAS", "CMS", "LHCb"):
        # Each experiment's heading on a line of its own, most at the top of a page.
        assert re.search(rf"^\f?{name}$", text, re.MULTILINE), f"no {name} heading in the PDF"
    pages = text.count("\f")
    assert pages >= 4  # one section per experiment, each on a new page
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")],
                   check=True, capture_output=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    for image in images:
        assert image.stat().st_size > 0 and image.read_bytes().startswith(PNG), image


def test_the_csv_report_has_one_row_per_site_with_each_experiments_scenario(demo_report):
    rows = list(csv.DictReader(io.StringIO(demo_report("csv").decode("utf-8"))))
    assert sorted(row["Site"] for row in rows) == sorted(Site.objects.values_list("name",
                                                                                 flat=True))
    experiments = list(Experiment.objects.all())
    scenarios = {(a.site.name, a.experiment.name): a.scenario.name if a.scenario else ""
                 for a in Assessment.objects.select_related("site", "experiment", "scenario")}
    for row in rows:
        for experiment in experiments:
            assert row[experiment.name] == scenarios.get((row["Site"], experiment.name), ""), (
                row["Site"], experiment.name)


# --- 6. A report that fails --------------------------------------------------------------------

def test_a_failed_report_says_why_and_can_be_made_again(
        client, member, a_few_sites, media, monkeypatch, django_capture_on_commit_callbacks):
    def boom(report):
        raise RuntimeError("boom")

    monkeypatch.setattr(render, "as_markdown", boom)
    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-26", format="md")
    assert report.status == Report.Status.FAILED
    assert report.error == "RuntimeError: boom"
    assert not report.file

    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert re.search(r'<div class="failure form-errors"\s*>\s*<p><strong>The report could not '
                     r'be made:</strong> <span class="error-text">RuntimeError: boom</span>', html)
    assert re.search(r'<p class="download" hidden>', html)
    status = client.get(f"/reports/{report.pk}/status/").json()
    assert status["status"] == "failed"
    assert status["error"] == "RuntimeError: boom"
    assert status["download"] is None
    assert client.get(f"/reports/{report.pk}/download/").status_code == 404

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reports/{report.pk}/retry/")
    assert response.status_code == 302 and response["Location"] == f"/reports/{report.pk}/"
    report.refresh_from_db()
    assert report.status == Report.Status.DONE and report.error == ""
    assert download(client, report).startswith(f"# {TITLE}".encode())
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert '<div class="failure form-errors" hidden>' in html


# --- 7. Without a task queue ---------------------------------------------------------------------

@pytest.fixture
def queue_down(monkeypatch):
    monkeypatch.setattr("wlcgstatus.reports.views.queue_available", lambda: False)
    monkeypatch.setattr("wlcgstatus.queue.queue_available", lambda: False)


def test_without_a_queue_no_report_is_made_and_the_dashboard_still_works(
        client, member, a_few_sites, media, queue_down, django_capture_on_commit_callbacks):
    client.force_login(member)
    listing = client.get("/reports/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "The task queue is unavailable" in html
    assert re.search(r'<button type="submit" class="primary" disabled', html)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"})
    assert response.status_code == 200
    assert "no report can be made right now" in response.content.decode()
    assert not Report.objects.exists()

    failed = Report.objects.create(as_of=datetime.date(2026, 11, 1), format="md",
                                   status=Report.Status.FAILED, error="OSError: disk full")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/reports/{failed.pk}/retry/", follow=True)
    assert callbacks == []
    assert "no report can be made right now" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Report.Status.FAILED, "OSError: disk full")
    Report.objects.filter(pk=failed.pk).delete()

    for url in ("/", "/sites/", "/sites/CH-ONE/", "/experiments/cms/", "/scenarios/",
                "/changes/"):
        assert client.get(url).status_code == 200, url
    client.logout()
    for url in ("/", "/sites/", "/sites/CH-TWO/", "/experiments/lhcb/", "/reports/"):
        assert client.get(url).status_code == 200, url


def test_queue_available_is_false_when_the_broker_does_not_answer():
    assert queue_available()  # tasks run in-process in the tests
    previous = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    try:
        celery_app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:1/0")
        assert queue_available() is False
    finally:
        celery_app.conf.update(**previous)
    assert queue_available()


# --- 8. Snapshots ------------------------------------------------------------------------------

def scenario_counts(date: datetime.date) -> dict[tuple[str, str], int]:
    return {(row.experiment.slug, row.scenario.slug): row.sites for row in
            ScenarioCount.objects.filter(day=date).select_related("experiment", "scenario")}


def migration_counts(date: datetime.date, migration: str | None = None
                     ) -> dict[tuple[str, int], int]:
    rows = MigrationCount.objects.filter(day=date).select_related("migration", "step")
    if migration:
        rows = rows.filter(migration__slug=migration)
    return {(row.migration.slug, row.step.position): row.sites for row in rows}


def test_a_snapshot_counts_the_assessments_and_the_migration_steps(demo):
    take_snapshot(DEMO_DATE)
    expected = {(e, s): n for e, s, n in Assessment.objects.exclude(scenario=None)
                .values_list("experiment__slug", "scenario__slug").annotate(n=Count("id"))}
    assert scenario_counts(DEMO_DATE) == expected
    assert sum(expected.values()) == Assessment.objects.count()

    steps = {}
    for migration in Migration.objects.all():
        for step in migration.steps.all():
            steps[migration.slug, step.position] = SiteMigration.objects.filter(
                migration=migration, completed_step__position__gte=step.position).count()
    assert migration_counts(DEMO_DATE) == steps
    assert any(steps.values())


def test_a_second_snapshot_of_a_day_replaces_the_first(demo):
    take_snapshot(DEMO_DATE)
    take_snapshot(DEMO_DATE - datetime.timedelta(days=1))
    before = (scenario_counts(DEMO_DATE), migration_counts(DEMO_DATE),
              ScenarioCount.objects.count(), MigrationCount.objects.count())
    take_snapshot(DEMO_DATE)
    assert (scenario_counts(DEMO_DATE), migration_counts(DEMO_DATE),
            ScenarioCount.objects.count(), MigrationCount.objects.count()) == before
    assert ScenarioCount.objects.filter(day=DEMO_DATE - datetime.timedelta(days=1)).exists()


def test_backfilled_snapshots_follow_a_site_that_changed_scenario(reference):
    with on(day(1)):
        changing = make_site("CH-CHANGING", serves=("cms",), container_runtime="none")
        steady = make_site("CH-STEADY", serves=("cms",), container_runtime="singularity")
    rollout = Migration.objects.get(slug="singularity-rollout")
    with on(day(3)):
        SiteMigration.objects.create(site=steady, migration=rollout,
                                     completed_step=rollout.steps.get())
    with on(day(5)):
        record_capabilities(changing, {"container_runtime": "singularity"})
    with on(day(8)):
        out = io.StringIO()
        call_command("backfill_snapshots", day(1).isoformat(), stdout=out)
    assert "Snapshots of 8 days stored" in out.getvalue()

    old = {("cms", "containers-isolate-payloads"): 1, ("cms", "not-isolated"): 1}
    new = {("cms", "containers-isolate-payloads"): 2}
    assert {n: scenario_counts(day(n)) for n in range(1, 9)} == {
        n: old if n < 5 else new for n in range(1, 9)}
    assert {n: migration_counts(day(n), "singularity-rollout") for n in range(1, 9)} == {
        n: {("singularity-rollout", 1): 0 if n < 3 else 1} for n in range(1, 9)}
    # Every step of every migration has its row each day, none done elsewhere.
    assert {n: sum(migration_counts(day(n)).values()) for n in range(1, 9)} == {
        n: 0 if n < 3 else 1 for n in range(1, 9)}
    assert len(migration_counts(day(1))) == sum(m.steps.count()
                                                for m in Migration.objects.all())


# --- 9. Reminders ------------------------------------------------------------------------------

@pytest.fixture
def people(db):
    users = get_user_model()
    contact = users.objects.create_user("sam", "contact@example.org")
    users.objects.create_user("nomail", "")  # a contact without an address gets nothing
    wg = users.objects.create_user("wanda", "wg@example.org")
    wg.groups.add(Group.objects.get_or_create(name=WG_MEMBERS)[0])
    return contact


def contact_site(name: str, contact, **capabilities) -> Site:
    site = make_site(name, serves=("cms",), **capabilities)
    site.contacts.add(contact, get_user_model().objects.get(username="nomail"))
    return site


@pytest.mark.parametrize(("days_left", "mailed"), [(30, True), (7, True), (1, True),
                                                   (29, False), (8, False), (0, False)])
def test_an_expiring_exception_is_reminded_30_7_and_1_days_before(
        reference, people, mailoutbox, days_left, mailed):
    today = datetime.date(2026, 6, 1)
    with on(today):
        site = contact_site("CH-EXPIRING", people, container_runtime="none")
        expires = today + datetime.timedelta(days=days_left)
        grant(site, today - datetime.timedelta(days=60), expires)
        sent = send_reminders(today)
    if not mailed:
        assert sent == 0 and mailoutbox == []
        return
    assert sent == 1
    [mail] = mailoutbox
    assert sorted(mail.to) == ["contact@example.org", "wg@example.org"]
    plural = "s" if days_left != 1 else ""
    assert mail.subject == (f"[WLCG isolation] CH-EXPIRING: CMS exception expires in "
                            f"{days_left} day{plural}")
    body = mail.body
    assert "CH-EXPIRING" in body and "CMS" in body
    assert f"expires on {expires.day} {expires:%B %Y}, in {days_left} day{plural}" in body
    assert f"{settings.SITE_URL}/sites/CH-EXPIRING/" in body


@pytest.mark.parametrize(("days_since", "mailed"), [(-1, False), (0, True), (1, False),
                                                    (29, False), (30, True), (60, True)])
def test_unconfirmed_capabilities_are_reminded_to_the_contacts(
        reference, people, mailoutbox, days_since, mailed):
    """days_since counts from the day the capabilities turn stale (CAPABILITY_CONFIRM_DAYS
    after the last report); the first reminder is on that day (0), then every 30 days."""
    reported = datetime.date(2026, 1, 10)
    with on(reported, hour=9):
        contact_site("CH-STALE", people, container_runtime="singularity", cvmfs="yes")
    today = reported + datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS + days_since)
    sent = send_reminders(today)
    assert sent == (1 if mailed else 0)
    if not mailed:
        assert mailoutbox == []
        return
    [mail] = mailoutbox
    assert mail.to == ["contact@example.org"]
    assert mail.subject == "[WLCG isolation] Please confirm CH-STALE's capabilities"
    days = settings.CAPABILITY_CONFIRM_DAYS + days_since
    assert f"Nobody has confirmed the capabilities of CH-STALE for {days} days" in mail.body
    assert f"{settings.SITE_URL}/sites/CH-STALE/capabilities/" in mail.body
    assert f"{settings.SITE_URL}/sites/CH-STALE/" in mail.body


def test_the_latest_report_of_any_capability_counts_as_the_confirmation(
        reference, people, mailoutbox):
    with on(datetime.date(2026, 1, 10)):
        site = contact_site("CH-PARTLY", people, container_runtime="singularity")
    with on(datetime.date(2026, 2, 10)):
        record_capabilities(site, {"cvmfs": "yes"})
    stale_day = datetime.date(2026, 2, 10) + datetime.timedelta(
        days=settings.CAPABILITY_CONFIRM_DAYS)
    assert send_reminders(stale_day - datetime.timedelta(days=31)) == 0
    assert send_reminders(stale_day) == 1
    assert mailoutbox[0].subject.endswith("Please confirm CH-PARTLY's capabilities")


def test_the_nightly_remind_task_sends_the_days_reminders(reference, people, mailoutbox):
    today = datetime.date(2026, 9, 1)
    with on(today - datetime.timedelta(days=settings.CAPABILITY_CONFIRM_DAYS)):
        contact_site("CH-STALE", people, container_runtime="singularity")
    with on(today):
        expiring = contact_site("CH-EXPIRING", people, container_runtime="none")
        grant(expiring, today - datetime.timedelta(days=10), today + datetime.timedelta(days=7))
    result = remind.delay(today.isoformat())
    assert result.get() == 2
    assert sorted(mail.subject for mail in mailoutbox) == [
        "[WLCG isolation] CH-EXPIRING: CMS exception expires in 7 days",
        "[WLCG isolation] Please confirm CH-STALE's capabilities",
    ]
    mailoutbox.clear()
    assert remind.delay((today + datetime.timedelta(days=1)).isoformat()).get() == 0
    assert mailoutbox == []
