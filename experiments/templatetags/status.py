"""Badges in the scenario's or compliance class's own colour, the compliance colours for the
stylesheets, and Markdown: plans as HTML, and names and plans in the Markdown report."""

import re

import markdown as markdown_lib
import nh3
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from experiments.models import COMPLIANCE_COLOURS, Compliance, Scenario

register = template.Library()


@register.simple_tag
def scenario_badge(scenario: Scenario | None, long: bool = False) -> str:
    if scenario is None:
        return compliance_badge(Compliance.UNKNOWN)
    return format_html('<span class="badge" style="--c: {}" title="{}">{}</span>',
                       scenario.colour, scenario.name,
                       scenario.name if long else scenario.short_name)


@register.simple_tag
def compliance_badge(compliance: str) -> str:
    value = Compliance(compliance)
    return format_html('<span class="badge" style="--c: {}">{}</span>', value.colour,
                       value.label)


@register.simple_tag
def compliance_colours() -> str:
    """The compliance classes' colours as CSS custom properties for a style attribute
    (`--target: #1a7f37; …; --unknown: #8c959f`), so that the stylesheets colour with the
    ones defined in experiments.models. A tag rather than a context processor: the meeting
    report is rendered outside any request."""
    return "; ".join(f"--{compliance.value.replace('_', '-')}: {colour}"
                     for compliance, colour in COMPLIANCE_COLOURS.items())


@register.filter
def markdown(text: str) -> str:
    """The experiment's plan as HTML: formatting kept, anything executable dropped."""
    return mark_safe(nh3.clean(markdown_lib.markdown(text)))  # cleaned by nh3


# What would make a name or label in a Markdown report into markup, a table cell's end or HTML.
MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|<>])")


@register.filter
def markdown_text(text) -> str:
    """A name or label as literal text in Markdown (the report's .md): a site named
    “<script>” or “*CERN*” stays those characters."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


@register.filter
def markdown_plan(text: str) -> str:
    """An experiment's plan in the Markdown report: its Markdown kept, raw HTML shown as text
    rather than passed to whatever renders the report."""
    return text.replace("<", "&lt;")


@register.simple_tag
def workloads(outcome) -> str:
    """What a rule, exception kind or assessment allows: “production and user jobs”."""
    allowed = [name for name, allows in (("production", outcome.allows_production),
                                         ("user jobs", outcome.allows_user_jobs)) if allows]
    return " and ".join(allowed) or "none"
