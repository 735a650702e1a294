"""Plotly figures, rendered as HTML fragments that use the page's own copy of plotly.js.

Every clickable mark carries the URL of the sites table behind it in `customdata`; the page's
charts.js opens it on click.
"""

from __future__ import annotations

import datetime

import plotly.graph_objects as go
from django.utils.safestring import SafeString, mark_safe

from .summary import ExperimentSummary

FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 14,
        "color": "#1f2328"}
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def render(figure: go.Figure, chart_id: str, toolbar: bool = True) -> SafeString:
    """The figure as a <div> and the script that draws it and makes its marks links. Plotly
    builds the HTML from our own figure, whose texts it escapes as JSON."""
    figure.update_layout(template="none")  # our own styling; keeps the page small
    return mark_safe(figure.to_html(
        full_html=False, include_plotlyjs=False, config={**CONFIG, "displayModeBar": toolbar},
        div_id=chart_id,
        post_script="wlcgLinkClicks('{plot_id}');"))


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


def migration_timeline(series: dict[str, list[tuple[datetime.date, int]]],
                       targets: dict[str, datetime.date | None], total: int,
                       urls: dict[str, str]) -> go.Figure:
    """Sites that completed each step, over time, with each step's target date marked."""
    figure = go.Figure()
    palette = ["#1a7f37", "#2f81f7", "#8250df", "#d4a72c"]
    for index, (step, points) in enumerate(series.items()):
        colour = palette[index % len(palette)]
        figure.add_trace(go.Scatter(
            name=step, x=[day for day, _ in points], y=[n for _, n in points],
            mode="lines+markers", line={"shape": "hv", "color": colour, "width": 3},
            customdata=[urls[step]] * len(points),
            hovertemplate="%{x|%d %b %Y}: %{y} sites<extra>" + step + "</extra>",
        ))
        if targets.get(step):
            figure.add_vline(x=targets[step].isoformat(), line={"color": colour, "dash": "dash"})
            figure.add_annotation(x=targets[step].isoformat(), y=total, yref="y",
                                  text=f"target: {targets[step]:%d %b %Y}", showarrow=False,
                                  xanchor="left", yanchor="top", font={"color": colour})
    figure.update_layout(
        height=380, margin={"l": 50, "r": 20, "t": 20, "b": 40}, font=FONT,
        plot_bgcolor="white", paper_bgcolor="white", hovermode="closest",
        legend={"orientation": "h", "y": -0.2, "x": 0},
        yaxis={"title": "sites", "rangemode": "tozero", "range": [0, total * 1.05 or 1],
               "gridcolor": "#eaeef2"},
        xaxis={"gridcolor": "#eaeef2"},
    )
    return figure
