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
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.test import Client, RequestFactory
from django.test.utils import override_settings
from django.utils import timezone

from sites.importers.runs import run_import
from sites.models import Assessment, Federation, ImportRun, Site
from sites.recompute import recompute
from sites.synthetic import PREFIX, generate_sites, serve_every_experiment
from sites.topology import cric_json
from wlcgstatus.reports.compose import compose
from wlcgstatus.reports.render import as_markdown
from wlcgstatus.snapshots import take_snapshots

NO_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
PAGES = {
    "overview": "/",
    "sites table": "/sites/",
    "sites table, filtered": "/sites/?experiment=cms&compliance=non_compliant&tier=2",
    "site page": "/sites/{site}/",
    "experiment page": "/experiments/cms/",
    "migration page": "/experiments/cms/migrations/singularity-rollout/",
    "CSV export, all sites": "/sites/?_export=csv",
    "admin change list (peer)": "/admin/sites/site/",
}


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
        visitor, admin = Client(), Client()
        admin.force_login(get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True})[0])
        # The same site at every size (the generator appends): what it shows is the same, so
        # its page's queries and time may differ only with the number of other sites.
        site = Site.objects.filter(name__startswith=PREFIX).order_by("id").first().name
        factory = RequestFactory()
        pages = {name: self.getter(admin if "admin" in name else visitor, url.format(site=site))
                 for name, url in PAGES.items()}
        pages["overview, uncached"] = self.getter(visitor, "/", cached=False)
        counts = {name: self.counted(get) for name, get in pages.items()}
        timed = self.interleaved({
            **pages,
            "floor: one aggregate query": lambda: floor_view(factory.get("/floor/")),
            "Markdown report": lambda: as_markdown(compose(timezone.localdate())),
        }, repeat)
        result.measures = {name: Measure(seconds, *counts.get(name, (None, None)))
                           for name, seconds in timed.items()}
        result.measures.update(self.recompute_and_insert(repeat))
        return result

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
        write("\nRatios")
        for name in PAGES:
            same = len({r.measures[name].queries for r in rounds}) == 1
            write(f"  {name:32} queries the same at every size: {'yes' if same else 'NO'}; "
                  f"time at {last.sites:,} / at {first.sites:,}: "
                  f"{last.measures[name].seconds / first.measures[name].seconds:.2f}")
        floor = last.measures["floor: one aggregate query"].seconds
        admin = last.measures["admin change list (peer)"].seconds
        for name in ("overview", "overview, uncached", "sites table", "sites table, filtered",
                     "site page", "experiment page"):
            seconds = last.measures[name].seconds
            write(f"  at {last.sites:,} sites, {name:24} / floor: {seconds / floor:6.2f}   "
                  f"/ admin change list: {seconds / admin:5.2f}")
        for r in (last, full):
            recompute_time = r.measures["recompute all assessments"].seconds
            insert_time = r.measures["bulk insert of as many rows"].seconds
            write(f"  recompute of {r.assessments:,} assessments ({recompute_time:.1f} s) / bulk "
                  f"insert of the same rows ({insert_time:.1f} s): "
                  f"{recompute_time / insert_time:.2f}")
        export = "CSV export, all sites"
        write("  CSV export peak memory: " + ", ".join(
            f"{r.sites:,} sites {r.measures[export].peak_bytes / 2**20:.1f} MiB"
            for r in rounds))
        if len(rounds) > 1:
            previous = rounds[-2]
            write(f"  CSV export peak memory at {last.sites:,} / at {previous.sites:,}: "
                  f"{last.measures[export].peak_bytes / previous.measures[export].peak_bytes:.2f}")
        write(f"  CRIC import of the 2026 topology (383 centres) into a database without them: "
              f"{imports['first']:.1f} s (target: under 10 s); again, nothing changed: "
              f"{imports['no change']:.1f} s (target: under 3 s)")
