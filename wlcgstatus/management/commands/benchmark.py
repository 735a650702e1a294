"""The scale benchmark: each page and operation at growing numbers of synthetic sites, timed
side by side in one run with two references — Django admin's change list of sites (what a
team would use instead) and a floor (one aggregate query returned as JSON) — on a throwaway
database of the configured kind (SQLite, or PostgreSQL through DATABASE_URL)."""

from __future__ import annotations

import datetime
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.test import Client, RequestFactory
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from experiments.models import PolicyRule
from sites.importers.runs import run_import
from sites.models import Assessment, Federation, ImportRun, Site
from sites.permissions import WG_MEMBERS
from sites.recompute import recompute
from sites.synthetic import PREFIX, generate_sites, serve_every_experiment
from sites.topology import cric_json
from wlcgstatus.pages import ADMIN_PEER, pages
from wlcgstatus.reports.compose import compose
from wlcgstatus.reports.render import as_markdown, as_pdf
from wlcgstatus.snapshots import take_snapshots

NO_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
ADMIN = ADMIN_PEER[0]
CSV_EXPORT = "sites:site_list?_export=csv"
# The pages whose time the summary compares with the floor and the admin's change list.
HEADLINE = ("overview", "overview, uncached", "sites:site_list",
            "sites:site_list?experiment=cms&compliance=non_compliant&tier=2&tier=3&sort=-name",
            "sites:site_detail", "experiment_detail", "migration_detail", "changes",
            "api:summary-list", CSV_EXPORT)
TARGETS = {  # what the benchmark holds each page and operation to
    "queries": 12, "page ratio": 1.3, "uncached overview / floor": 3.0,
    "CSV export (s)": 1.0, "Markdown report (s)": 0.5, "PDF report (s)": 10.0,
    "as of a past day / today": 2.0, "Policy dry run (s)": 2.0,
}
DRY_RUN = "policy dry run of a CMS rule change"


def floor_view(request):
    """The floor: one aggregate query, its rows as JSON."""
    rows = list(Assessment.objects.values("experiment_id", "scenario_id")
                .annotate(sites=Count("id")))
    return JsonResponse(rows, safe=False)


class QueryCounter:
    """Counts the SQL statements run; unlike the connection's query log, it survives the
    connection being closed and reopened between requests."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@dataclass
class Measure:
    seconds: float
    queries: int | None = None
    peak_bytes: int | None = None


@dataclass
class Round:
    sites: int
    assessments: int = 0
    measures: dict[str, Measure] = field(default_factory=dict)


class Command(BaseCommand):
    help = ("Benchmark the dashboard at growing numbers of synthetic sites, against Django "
            "admin's change list and a one-query floor, on a throwaway database.")

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="200,2000,20000",
                            help="Numbers of sites, ascending (default 200,2000,20000).")
        parser.add_argument("--repeat", type=int, default=5,
                            help="Timed runs per measure; the median is shown (default 5).")

    def handle(self, *args, sizes: str, repeat: int, **options):
        counts = sorted(int(size) for size in sizes.split(","))
        # As in production, without DEBUG's query log; the test client's host allowed.
        with override_settings(DEBUG=False,
                               ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            database = connection.settings_dict["NAME"]
            if connection.vendor != "sqlite":  # (SQLite's is in memory, this process's own)
                # Its own database, apart from the test suite's test_<name>.
                connection.settings_dict["TEST"]["NAME"] = f"benchmark_{database}"
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            try:
                call_command("loaddata", "reference", verbosity=0)
                imports = self.measure_imports(repeat)
                self.largest = counts[-1]
                rounds = [self.measure_at(count, repeat) for count in counts]
                full = self.measure_full_membership(repeat)
            finally:
                connection.creation.destroy_test_db(database, verbosity=0)
        self.report(rounds, full, imports)

    # --- measuring ---------------------------------------------------------------------------

    def measure_at(self, count: int, repeat: int) -> Round:
        generate_sites(count - Site.objects.filter(name__startswith=PREFIX).count(), seed=7)
        # The trend charts read a year of daily counts, as on a dashboard a year in service.
        today = timezone.localdate()
        take_snapshots(today - datetime.timedelta(days=365), today)
        self.stderr.write(f"measuring at {count} sites…")
        result = Round(count, Assessment.objects.count())
        anyone, member, admin = Client(), Client(), Client()
        member.force_login(self.wg_member())
        admin.force_login(get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True})[0])
        # The same site at every size (the generator appends): what it shows is the same, so
        # its page's queries and time may differ only with the number of other sites. It
        # serves CMS (with an exception) and ALICE (a migration recorded by hand).
        site = (Site.objects.filter(name__startswith=PREFIX, exceptions__isnull=False,
                                    experiment_sites__experiment__slug="alice")
                .order_by("id").first())
        factory = RequestFactory()
        # Every page of the URL configuration, as its visitors see it: anyone where anyone
        # may, else a WG member; the admin's change list, a superuser.
        getters = {}
        for page in pages(site, self.wg_member()):
            visitor = (admin if page.name == ADMIN else
                       anyone if anyone.get(page.url).status_code == 200 else member)
            getters[page.name] = self.getter(visitor, page.url)
        getters["overview, uncached"] = self.getter(anyone, "/", cached=False)
        counts = {name: self.counted(get) for name, get in getters.items()}
        timed = self.interleaved({
            **getters,
            "floor: one aggregate query": lambda: floor_view(factory.get("/floor/")),
            "Markdown report": lambda: as_markdown(compose(timezone.localdate())),
            DRY_RUN: self.dry_runner(member),
        }, repeat)
        result.measures = {name: Measure(seconds, *counts.get(name, (None, None)))
                           for name, seconds in timed.items()}
        if count == self.largest:  # a PDF takes seconds: once, where it costs the most
            start = time.perf_counter()
            as_pdf(compose(timezone.localdate()))
            result.measures["PDF report"] = Measure(time.perf_counter() - start)
        result.measures.update(self.recompute_and_insert(repeat))
        return result

    @staticmethod
    def dry_runner(member: Client) -> Callable[[], None]:
        """A WG member's dry run of CMS's first rule leading to its second rule's scenario:
        every site the rule decides changes, on the workbench's own page."""
        first, second = PolicyRule.objects.filter(experiment__slug="cms").order_by(
            "position").prefetch_related("conditions")[:2]
        conditions = list(first.conditions.all())
        entries = {
            "summary": first.summary, "site_kind": first.site_kind,
            "scenario": second.scenario_id, "pilot_credentials": first.pilot_credentials,
            "payload_credentials": first.payload_credentials, "allows_production": "on",
            "allows_user_jobs": "on", "conditions-TOTAL_FORMS": len(conditions),
            "conditions-INITIAL_FORMS": len(conditions), "conditions-MIN_NUM_FORMS": 0,
            "conditions-MAX_NUM_FORMS": 1000, "action": "dry-run",
            **{f"conditions-{n}-{name}": value for n, condition in enumerate(conditions)
               for name, value in (("id", condition.id), ("rule", first.id),
                                   ("capability", condition.capability_id),
                                   ("operator", condition.operator),
                                   ("value", condition.value))}}
        url = reverse("policy:rule", args=["cms", first.position])

        def dry_run():
            response = member.post(url, entries)
            assert response.status_code == 200 and b"would change" in response.content
        return dry_run

    @staticmethod
    def wg_member():
        user, _ = get_user_model().objects.get_or_create(username="benchmark-wg")
        user.groups.add(Group.objects.get_or_create(name=WG_MEMBERS)[0])
        return user

    def measure_imports(self, repeat: int) -> dict[str, float]:
        """CRIC's 2026 topology (fixtures/topology/, 383 centres), imported into a database
        without its sites, then again with nothing changed: the median of each."""
        self.stderr.write("measuring the CRIC import…")
        times = {"first": [], "no change": []}
        with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
            file.write(cric_json())
            file.flush()
            for _ in range(max(1, repeat // 2)):
                for name in times:
                    start = time.perf_counter()
                    run = run_import("CRIC", file.name, trigger=ImportRun.Trigger.COMMAND)
                    times[name].append(time.perf_counter() - start)
                    assert run.outcome == ImportRun.Outcome.APPLIED, run.summary
                Site.objects.all().delete()
                Federation.objects.all().delete()
        return {name: statistics.median(values) for name, values in times.items()}

    def measure_full_membership(self, repeat: int) -> Round:
        """Recomputation once every site serves every experiment: the largest number of
        assessments these sites can have (80,000 at 20,000 sites)."""
        self.stderr.write("measuring recomputation with every site serving every experiment…")
        serve_every_experiment()
        result = Round(Site.objects.count(), Assessment.objects.count())
        result.measures.update(self.recompute_and_insert(repeat))
        return result

    def recompute_and_insert(self, repeat: int) -> dict[str, Measure]:
        timed = self.interleaved({"recompute all assessments": recompute,
                                  "bulk insert of as many rows": self.bulk_insert_assessments},
                                 max(1, repeat // 2))
        return {name: Measure(seconds) for name, seconds in timed.items()}

    @staticmethod
    def getter(client: Client, url: str, cached: bool = True) -> Callable[[], None]:
        """A request for the page, read to its end (an export streams). Uncached, it sees a
        cache that keeps nothing, while what is cached stays there for the other pages."""
        def get():
            with nullcontext() if cached else override_settings(CACHES=NO_CACHE):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                if response.streaming:
                    for _ in response.streaming_content:
                        pass
        return get

    @staticmethod
    def counted(get: Callable[[], None]) -> tuple[int, int]:
        """The page's query count and peak memory in bytes, after a first request has warmed
        up imports, templates and caches."""
        get()
        queries = QueryCounter()
        with connection.execute_wrapper(queries):
            get()
        tracemalloc.start()
        get()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return queries.count, peak

    @staticmethod
    def interleaved(functions: dict[str, Callable], repeat: int) -> dict[str, float]:
        """The median time of each function, run in turn in each of `repeat` rounds: what
        is compared is measured side by side, so a machine that slows down in the middle of
        the run slows all of them alike."""
        times = {name: [] for name in functions}
        for _ in range(repeat):
            for name, function in functions.items():
                start = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - start)
        return {name: statistics.median(values) for name, values in times.items()}

    @staticmethod
    def bulk_insert_assessments() -> None:
        """The reference for recomputation: writing the same rows without evaluating."""
        rows = list(Assessment.objects.all())
        Assessment.objects.all().delete()
        for row in rows:
            row.pk = None
        Assessment.objects.bulk_create(rows, batch_size=2000)

    # --- reporting ---------------------------------------------------------------------------

    def report_past_days(self, last: Round) -> None:
        """Each page as of a past day against the same page today (wlcgstatus/pages.py names
        it "<page>?as_of…"), at the largest size."""
        target = TARGETS["as of a past day / today"]
        self.stdout.write(f"\nEvery page as of a past day (target: at most {target}x the same "
                          f"page today, at {last.sites:,} sites; queries: as of / today)")
        for name, measure in last.measures.items():
            if "?as_of" not in name:
                continue
            today = last.measures[name.split("?as_of")[0]]
            ratio = measure.seconds / today.seconds
            self.stdout.write(f"  {name:60} as of / today: queries {measure.queries} / "
                              f"{today.queries}, time {ratio:5.2f}x   "
                              f"{'met' if ratio <= target else 'NOT met'}")

    def report(self, rounds: list[Round], full: Round, imports: dict[str, float]) -> None:
        write = self.stdout.write
        vendor = connection.vendor
        write(f"\nwlcgstatus benchmark on {vendor}; median of the timed runs, in milliseconds "
              f"(queries in brackets)\n")
        header = f"{'':34}" + "".join(f"{r.sites:>8,} sites{'':7}" for r in rounds)
        write(header)
        write(f"{'(assessments)':34}" + "".join(f"{r.assessments:>14,}{'':7}" for r in rounds))
        for name in rounds[0].measures:
            cells = []
            for r in rounds:
                m = r.measures[name]
                queries = f"({m.queries})" if m.queries is not None else ""
                cells.append(f"{m.seconds * 1000:>12.1f} {queries:<7}")
            write(f"{name:34}" + " ".join(cells))

        first, last = rounds[0], rounds[-1]
        floor = last.measures["floor: one aggregate query"].seconds
        admin = last.measures[ADMIN].seconds
        write(f"\nEvery page (targets: the same queries at every size, at most "
              f"{TARGETS['queries']}; time at {last.sites:,} at most {TARGETS['page ratio']}x "
              f"its time at {first.sites:,}, and below the admin's change list)")
        missed = []
        for name, measure in last.measures.items():
            if measure.queries is None or name == ADMIN:
                continue
            counts = [r.measures[name].queries for r in rounds]
            ratio = measure.seconds / first.measures[name].seconds
            failed = [what for what, bad in (
                ("queries vary", len(set(counts)) > 1),
                (f"over {TARGETS['queries']} queries", max(counts) > TARGETS["queries"]),
                (f"ratio over {TARGETS['page ratio']}", ratio > TARGETS["page ratio"]),
                ("slower than the admin", measure.seconds > admin)) if bad]
            missed += [(name, failed)] if failed else []
            write(f"  {name:60} queries {'/'.join(map(str, counts)):9} "
                  f"ratio {ratio:5.2f}   / admin {measure.seconds / admin:5.2f}   "
                  f"{'; '.join(failed) if failed else 'met'}")
        write(f"  pages missing a target: {len(missed)} of "
              f"{sum(m.queries is not None for m in last.measures.values()) - 1}")
        self.report_past_days(last)
        for name in HEADLINE:
            seconds = last.measures[name].seconds
            write(f"  at {last.sites:,} sites, {name[:40]:40} / floor: {seconds / floor:7.2f}   "
                  f"/ admin change list: {seconds / admin:5.2f}")
        uncached = last.measures["overview, uncached"].seconds / floor
        write(f"  overview uncached / floor: {uncached:.2f} (target: at most "
              f"{TARGETS['uncached overview / floor']})")
        for name, target in (("CSV export", CSV_EXPORT), ("Markdown report", "Markdown report"),
                             ("PDF report", "PDF report"), ("Policy dry run", DRY_RUN)):
            seconds = last.measures[target].seconds
            limit = TARGETS[f"{name} (s)"]
            write(f"  {name} at {last.sites:,} sites: {seconds:.2f} s (target: under {limit} s): "
                  f"{'met' if seconds < limit else 'NOT met'}")
        for r in (last, full):
            recompute_time = r.measures["recompute all assessments"].seconds
            insert_time = r.measures["bulk insert of as many rows"].seconds
            write(f"  recompute of {r.assessments:,} assessments ({recompute_time:.1f} s) / bulk "
                  f"insert of the same rows ({insert_time:.1f} s): "
                  f"{recompute_time / insert_time:.2f}")
        write("  CSV export peak memory: " + ", ".join(
            f"{r.sites:,} sites {r.measures[CSV_EXPORT].peak_bytes / 2**20:.1f} MiB"
            for r in rounds))
        if len(rounds) > 1:
            previous = rounds[-2]
            growth = (last.measures[CSV_EXPORT].peak_bytes
                      / previous.measures[CSV_EXPORT].peak_bytes)
            write(f"  CSV export peak memory at {last.sites:,} / at {previous.sites:,}: "
                  f"{growth:.2f}")
        write(f"  CRIC import of the 2026 topology (383 centres) into a database without them: "
              f"{imports['first']:.1f} s (target: under 10 s); again, nothing changed: "
              f"{imports['no change']:.1f} s (target: under 3 s)")
