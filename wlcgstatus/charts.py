"""Plotly figures, and how a page draws them with its own copy of plotly.js.

A page gets each figure as data (`for_page`); `_chart.html` writes it into the page with
`json_script` and static/charts.js draws it, so that no inline script is needed. Every
clickable mark carries the URL of the sites table behind it in `customdata`; charts.js opens it
on click.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

import plotly.graph_objects as go

from experiments.models import COMPLIANCE_COLOURS, Compliance

from .summary import ExperimentSummary
from .trends import Trend

FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 14,
        "color": "#1f2328"}
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
# The lines of a migration's steps, in the page's own colours: the first step in the target's.
STEP_COLOURS = [COMPLIANCE_COLOURS[compliance] for compliance in
                (Compliance.TARGET, Compliance.ACCEPTABLE, Compliance.INTERIM, Compliance.UNKNOWN)]


@dataclass(frozen=True)
class PageChart:
    """A figure as a page draws it: `figure` holds plotly.js's data, layout and config."""

    id: str
    figure: dict

    @property
    def data_id(self) -> str:
        """The id of the JSON the figure is written into."""
        return f"{self.id}-data"


def for_page(figure: go.Figure, chart_id: str, toolbar: bool = True) -> PageChart:
    """The figure as JSON-able data for `_chart.html`, drawn into the element `chart_id`."""
    figure.update_layout(template="none")  # our own styling; keeps the page small
    # Through plotly's own encoder: it knows dates and NumPy arrays, json_script does not.
    return PageChart(chart_id, {**json.loads(figure.to_json()),
                                "config": {**CONFIG, "displayModeBar": toolbar}})


def scenario_bar(summary: ExperimentSummary, height: int = 150) -> go.Figure:
    """The experiment's sites by scenario, as one stacked horizontal bar."""
    figure = go.Figure()
    for figure_row in summary.scenarios:
        figure.add_trace(go.Bar(
            name=figure_row.label, x=[figure_row.count], y=[summary.experiment.name],
            orientation="h", marker_color=figure_row.colour, customdata=[figure_row.url],
            text=[figure_row.count], textposition="inside", insidetextanchor="middle",
            hovertemplate=f"{figure_row.label}: %{{x}} sites ({figure_row.share}%)"
                          "<extra>click to list them</extra>",
        ))
    figure.update_layout(
        barmode="stack", height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font=FONT, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "y": -0.15, "x": 0, "font": {"size": 13},
                "traceorder": "normal"},
        xaxis={"visible": False, "range": [0, summary.total or 1], "fixedrange": True},
        yaxis={"visible": False, "fixedrange": True},
    )
    return figure


def compliance_area(trend: Trend, urls: dict[str, str] | None = None) -> go.Figure:
    """The experiment's sites per compliance class over time, stacked, best class at the
    bottom; on a page (given `urls`), a click on a class lists its sites today."""
    figure = go.Figure()
    for compliance in Compliance:
        counts = trend.lines[compliance.label]
        figure.add_trace(go.Scatter(
            name=compliance.label, x=trend.days, y=counts, stackgroup="classes",
            mode="lines", line={"shape": "hv", "width": 0.5, "color": compliance.colour},
            fillcolor=compliance.colour,
            customdata=[urls[compliance.label]] * len(counts) if urls else None,
            hovertemplate="%{x|%d %b %Y}: %{y} sites<extra>" + compliance.label + "</extra>",
        ))
    figure.update_layout(**_over_time_layout(height=300))
    return figure


def migration_burndown(trend: Trend, targets: dict[str, tuple[datetime.date, str]],
                       urls: dict[str, str]) -> go.Figure:
    """Per step, the sites still to do it over time, each with its target marked: its day,
    labelled as the WG states it (a day, or an LHC period such as LS2), and the straight
    line from the first count to none left on that day."""
    figure = go.Figure()
    for index, (step, remaining) in enumerate(trend.lines.items()):
        colour = STEP_COLOURS[index % len(STEP_COLOURS)]
        figure.add_trace(go.Scatter(
            name=step, x=trend.days, y=remaining, mode="lines+markers",
            line={"shape": "hv", "color": colour, "width": 3},
            customdata=[urls[step]] * len(remaining),
            hovertemplate="%{x|%d %b %Y}: %{y} sites to go<extra>" + step + "</extra>",
        ))
        if step not in targets:
            continue
        due, label = targets[step]
        start = next(((day, n) for day, n in zip(trend.days, remaining, strict=True)
                      if n is not None), None)
        if start and start[0] < due:
            figure.add_trace(go.Scatter(
                x=[start[0], due], y=[start[1], 0], mode="lines", showlegend=False,
                line={"color": colour, "dash": "dot", "width": 1.5}, hoverinfo="skip"))
        figure.add_vline(x=due.isoformat(), line={"color": colour, "dash": "dash"})
        # One line down per step, so that targets close in time do not overlap.
        figure.add_annotation(x=due.isoformat(), y=1 - 0.09 * index, yref="paper",
                              text=f"target: {label}", showarrow=False, xanchor="left",
                              yanchor="top", bgcolor="white", bordercolor=colour, borderpad=2)
    figure.update_layout(**_over_time_layout(height=380))
    return figure


def _over_time_layout(height: int) -> dict:
    return {
        "height": height, "margin": {"l": 50, "r": 20, "t": 20, "b": 40}, "font": FONT,
        "plot_bgcolor": "white", "paper_bgcolor": "white", "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.2, "x": 0, "traceorder": "normal"},
        "yaxis": {"title": "sites", "rangemode": "tozero", "gridcolor": "#eaeef2"},
        "xaxis": {"gridcolor": "#eaeef2"},
    }
