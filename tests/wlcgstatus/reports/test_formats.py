"""The report of the demo data in the formats made without a browser engine: Markdown text, and
a CSV row per site with each experiment's scenario."""

from __future__ import annotations

import csv
import io

from experiments.models import Experiment
from sites.models import Assessment, Site
from wlcgstatus.reports import render
from wlcgstatus.reports.compose import compose

from ...factories.exceptions import grant
from ...factories.sites import make_site
from ...helpers import REPORT_TITLE, day


def test_the_markdown_report_is_text(demo_report):
    text = demo_report("md").decode("utf-8")
    assert text.startswith(f"# {REPORT_TITLE}\n")
    for name in ("ALICE", "ATLAS", "CMS", "LHCb"):
        assert f"\n## {name}\n" in text
    assert "<img" not in text and "<h2" not in text  # Markdown, not HTML


def test_the_csv_report_has_one_row_per_site_with_each_experiments_scenario(demo_report):
    rows = list(csv.DictReader(io.StringIO(demo_report("csv").decode("utf-8"))))
    assert sorted(row["Site"] for row in rows) == sorted(Site.objects.values_list("name",
                                                                                 flat=True))
    experiments = list(Experiment.objects.all())
    scenarios = {(a.site.name, a.experiment.name): a.scenario.name if a.scenario else "Unknown"
                 for a in Assessment.objects.select_related("site", "experiment", "scenario")}
    for row in rows:
        for experiment in experiments:
            assert row[experiment.name] == scenarios.get((row["Site"], experiment.name), ""), (
                row["Site"], experiment.name)


def test_the_markdown_report_writes_names_and_plans_as_text_not_markup(reference):
    site = make_site("<script>x</script>*A*|B", serves=("cms",), container_runtime="none")
    grant(site, day(-10), day(20))
    cms = Experiment.objects.get(slug="cms")
    cms.plan = "CMS requires [Singularity](https://example.org). <img src=x onerror=alert(1)>"
    cms.save()

    text = render.as_markdown(compose(as_of=day(0))).decode()

    assert "<script>" not in text and "<img" not in text
    assert r"| \<script\>x\</script\>\*A\*\|B | " in text  # the exception table's cell
    assert "CMS requires [Singularity](https://example.org). &lt;img src=x" in text
