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
    for row in ("overview", "sites table", "site page", "experiment page", "migration page",
                "CSV export, all sites", "admin change list (peer)",
                "floor: one aggregate query", "Markdown report", "recompute all assessments",
                "bulk insert of as many rows"):
        assert re.search(rf"^{re.escape(row)} +\d", report, re.MULTILINE), row
    assert "queries the same at every size: NO" not in report
    assert report.count("queries the same at every size: yes") == 8
    # the last step: 400 sites serving all 4 experiments
    assert re.search(r"recompute of 1,600 assessments .* bulk insert", report)
    assert "CSV export peak memory at 400 / at 200:" in report
    assert re.search(r"CRIC import of the 2026 topology \(383 centres\) into a database without "
                     r"them: \d+\.\d s \(target: under 10 s\); again, nothing changed: \d+\.\d s",
                     report)
