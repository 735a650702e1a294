"""The benchmark command, which stands on the synthetic site generator: run as anyone runs it, it
prints each measure and the same query counts at each size."""

import re
import subprocess
import sys

import pytest
from django.conf import settings


@pytest.mark.backend_independent  # it builds a database of its own, of the configured kind
def test_the_benchmark_prints_each_measure_and_the_same_query_counts_at_each_size():
    # As anyone runs it: in a process of its own, on a database of its own.
    run = subprocess.run([sys.executable, "manage.py", "benchmark", "--sizes", "200,400",
                          "--repeat", "1"], cwd=settings.BASE_DIR, capture_output=True,
                         text=True, timeout=600)

    assert run.returncode == 0, run.stderr
    report = run.stdout
    # Every page of the URL configuration has its row, as has each operation measured.
    for row in ("overview", "overview, uncached", "sites:site_list", "sites:site_detail",
                "sites:site_history", "sites:import_runs", "experiment_detail",
                "migration_detail", "changes", "api:summary-list", "api:exception-list",
                "sites:site_list?_export=csv", "admin change list of sites (peer)",
                "floor: one aggregate query", "Markdown report", "recompute all assessments",
                "bulk insert of as many rows"):
        assert re.search(rf"^{re.escape(row)} +\d", report, re.MULTILINE), row
    # And its line against the targets.
    ratios = re.findall(r"^  (\S+) +queries ([\d/]+) +ratio", report, re.MULTILINE)
    assert {"sites:site_detail", "reports:report_list", "api:schema"} <= {
        name for name, _ in ratios}
    assert re.search(r"pages missing a target: \d+ of \d+", report)
    # Every page that shows a past day, as of one against today.
    past = dict(re.findall(r"^  (\S+)\?as_of\S* +as of / today: queries \d+ / \d+, "
                           r"time +(\d+\.\d+)x", report, re.MULTILINE))
    assert {"overview", "sites:site_list", "sites:site_detail", "experiment_detail",
            "migration_detail", "scenario_list", "changes", "api:site-list",
            "api:summary-list", "api:migration-list"} <= set(past)
    for name, counts in ratios:
        if name != "api:exception-list":  # fewer at 400: its first page holds grants alone
            assert len(set(counts.split("/"))) == 1, (name, counts)
    assert re.search(r"PDF report at 400 sites: \d+\.\d+ s \(target: under 10.0 s\)", report)
    # the last step: 400 sites serving all 4 experiments
    assert re.search(r"recompute of 1,600 assessments .* bulk insert", report)
    assert "CSV export peak memory at 400 / at 200:" in report
    assert re.search(r"CRIC import of the 2026 topology \(383 centres\) into a database without "
                     r"them: \d+\.\d s \(target: under 10 s\); again, nothing changed: \d+\.\d s",
                     report)
