"""The report of the demo data as HTML and PDF, the formats rendered by a browser engine
(charts through Kaleido, pages through WeasyPrint): slow, and the same on every database."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import warnings

import plotly.graph_objects as go
import pytest

from wlcgstatus.reports.render import chart_png

from ...helpers import REPORT_TITLE

PNG = b"\x89PNG\r\n\x1a\n"

# Run on one database only: what is slow, and tested here, is the rendering.
pytestmark = pytest.mark.backend_independent


def test_the_html_report_embeds_a_png_chart_per_experiment_and_nothing_from_elsewhere(
        demo_report):
    html = demo_report("html").decode("utf-8")
    assert f"<h1>{REPORT_TITLE}</h1>" in html
    for name in ("ALICE", "ATLAS", "CMS", "LHCb"):
        for chart in ("sites by scenario", "sites per compliance class over time"):
            match = re.search(rf'<img class="chart" src="data:image/png;base64,'
                              rf'([A-Za-z0-9+/=]+)" alt="{name} {chart}">', html)
            assert match, f"no chart of {name} {chart}"
            assert base64.b64decode(match.group(1)).startswith(PNG)
    assert len(re.findall(r"<img ", html)) == 8
    without_data = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", html)
    for external in (r"\b(?:https?|ftp):", r"""(?:src|href)\s*=\s*["']?//""",
                     r"url\(\s*['\"]?//", r"@import"):
        assert not re.search(external, without_data, re.IGNORECASE), external


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
    assert REPORT_TITLE in " ".join(text.split())
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


def test_drawing_a_report_chart_warns_about_nothing():
    # As chart_images draws a report's chart: a horizontal bar, no template, 900 by 170.
    figure = go.Figure([go.Bar(name=name, x=[count], y=["CMS"], orientation="h")
                        for name, count in [("Target", 30), ("Not isolated", 12)]])
    figure.update_layout(template="none", width=900, height=170, barmode="stack")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = chart_png(figure)
        second = chart_png(figure)  # the server already running, as for a report's 2nd chart

    assert [str(warning.message) for warning in caught] == []
    assert first.startswith(b"\x89PNG\r\n\x1a\n") and second == first
    width, height = int.from_bytes(first[16:20], "big"), int.from_bytes(first[20:24], "big")
    assert (width, height) == (1800, 340)  # scale 2
