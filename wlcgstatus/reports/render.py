"""The meeting report as files: Markdown for a wiki or an agenda, HTML, PDF (charts as images,
laid out by WeasyPrint) and the site table as CSV."""

from __future__ import annotations

import base64
from collections.abc import Callable

import kaleido
import plotly.graph_objects as go
from django.template.loader import render_to_string

from experiments.models import Experiment
from sites.models import Site
from sites.tables import SiteTable, stream_csv, with_table_columns

from .. import charts
from .compose import MeetingReport

Progress = Callable[[int, str], None]  # percent done, what is being done


def as_markdown(report: MeetingReport) -> bytes:
    return render_to_string("reports/meeting.md", {"report": report}).encode()


def as_html(report: MeetingReport, progress: Progress | None = None) -> bytes:
    images = chart_images(report, progress)
    return render_to_string("reports/meeting.html", {
        "report": report,
        "sections": [(section, images[section.experiment.slug]) for section in report.sections],
    }).encode()


def as_pdf(report: MeetingReport, progress: Progress | None = None) -> bytes:
    from weasyprint import HTML  # loads Pango: only where PDFs are made

    html = as_html(report, progress)
    if progress:
        progress(90, "Laying out the PDF")
    return HTML(string=html.decode()).write_pdf()


def as_csv() -> bytes:
    experiments = list(Experiment.objects.all())
    table = SiteTable(with_table_columns(Site.objects.all(), experiments),
                      experiments=experiments)
    return "".join(stream_csv(table)).encode()


def chart_images(report: MeetingReport, progress: Progress | None = None
                 ) -> dict[str, dict[str, str]]:
    """Per experiment, its scenario bar and its compliance classes over time, as PNG data
    URIs drawn by Kaleido in Chromium; no bar where it has no site, no trend before a second
    day is counted."""
    images = {}
    for index, section in enumerate(report.sections):
        if progress:
            progress(20 + 60 * index // len(report.sections),
                     f"Drawing the {section.experiment.name} charts")
        images[section.experiment.slug] = drawn = {}
        if section.summary.scenarios:
            drawn["scenarios"] = _data_uri(charts.scenario_bar(section.summary, height=170))
        if len(section.trend.days) > 1:
            drawn["trend"] = _data_uri(charts.compliance_area(section.trend))
    return images


def _data_uri(figure: go.Figure) -> str:
    figure.update_layout(template="none", width=900)
    return "data:image/png;base64," + base64.b64encode(chart_png(figure)).decode()


def chart_png(figure: go.Figure) -> bytes:
    """The figure as a PNG at twice its layout's size, drawn by the process's Kaleido server
    (one Chromium, started by the first chart). Asked of Kaleido directly: plotly's `to_image`
    passes Kaleido options (plotly's default HTTP headers) that a running server cannot take,
    and Kaleido warned so for every chart."""
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)  # no-op once it runs
    return kaleido.calc_fig_sync(figure, opts={"format": "png", "scale": 2})
