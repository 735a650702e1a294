import csv
import datetime
import io
from collections.abc import Iterator

import django_tables2 as tables
from django.conf import settings
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Lower
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django_tables2.columns import BoundColumn
from django_tables2.export import TableExport
from tablib import Dataset

from experiments.models import (
    Compliance,
    ExceptionKind,
    Experiment,
    PolicyRevision,
    PolicyRule,
    Scenario,
    SiteKind,
)
from experiments.templatetags.status import scenario_badge

from .as_of import AsOf
from .models import (
    Assessment,
    CapabilityValue,
    Site,
    SiteException,
    describe_decision,
    stale_before,
)
from .timeline import end_of, reported_then, scenario_then

MAX_PER_PAGE = 500
UNKNOWN_SCENARIO = 0  # no scenario has this id


def scenario_field(experiment: Experiment) -> str:
    return f"scenario_{experiment.slug}"


def with_table_columns(queryset: QuerySet[Site], experiments: list[Experiment],
                       as_of: AsOf | None = None, decisions: bool = False) -> QuerySet:
    """Sites with what the table shows as subquery annotations: one query for a page of
    rows, however many sites there are; as of a past day, the same columns as they stood at
    its end. Each subquery finds at most one row, so none keeps its model's default ordering
    (which would join the site and experiment tables in). `decisions` (today only): each
    scenario with the ids of what decided it, for an export's `DecidedByColumn`."""
    if as_of:
        return queryset.annotate(
            container_runtime=reported_then(as_of.day, "value",
                                            capability__key="container_runtime"),
            runtime_version=reported_then(as_of.day, "value",
                                          capability__key="container_runtime_version"),
            last_reported_at=reported_then(as_of.day, "reported_at"),
            **scenarios_then(experiments, as_of.day))

    def reported(key: str) -> Subquery:
        return Subquery(CapabilityValue.objects.filter(site=OuterRef("pk"), capability__key=key)
                        .order_by().values("value")[:1])

    # NULL where the site does not serve the experiment, UNKNOWN_SCENARIO where it does and
    # the scenario is unknown.
    scenario = Coalesce("scenario_id", UNKNOWN_SCENARIO)
    if decisions:
        # "12|7:2::": the scenario, then the ids of the policy revision, rule, exception and
        # standing exception that decided it, read in the same lookup as the scenario.
        def text(expression) -> Coalesce:
            return Coalesce(Cast(expression, CharField()), Value(""))

        scenario = Concat(text(scenario), Value("|"), text("revision_id"), Value(":"),
                          text("rule_id"), Value(":"), text("exception_id"), Value(":"),
                          text("standing_exception_id"), output_field=CharField())
    scenarios = {
        scenario_field(experiment): Subquery(
            Assessment.objects.filter(site=OuterRef("pk"), experiment_id=experiment.id)
            .order_by().values(known=scenario)[:1])
        for experiment in experiments
    }
    return queryset.annotate(
        container_runtime=reported("container_runtime"),
        runtime_version=reported("container_runtime_version"),
        last_reported_at=Subquery(CapabilityValue.objects.filter(site=OuterRef("pk"))
                                  .order_by("-reported_at").values("reported_at")[:1]),
        **scenarios,
    )


class Decisions:
    """The names of what decided the assessments an export lists, from the ids it reads
    (`with_table_columns(decisions=True)`): the policy revisions, rules and exception kinds,
    read once."""

    @cached_property
    def names(self) -> tuple[dict, dict, dict, dict]:
        return (dict(PolicyRevision.objects.values_list("id", "number")),
                dict(PolicyRule.objects.values_list("id", "position")),
                dict(SiteException.objects.values_list("id", "kind__name")),
                dict(ExceptionKind.objects.values_list("id", "name")))

    @cached_property
    def described(self) -> dict[tuple[int, str], str]:
        return {}

    def describe(self, experiment: Experiment, key: str) -> str:
        # Most sites share their key with many others (the same revision and rule): each key
        # is described once.
        if (experiment.id, key) not in self.described:
            revisions, rules, exceptions, kinds = self.names
            revision, rule, exception, standing = (int(part) if part else None
                                                   for part in key.split(":"))
            self.described[experiment.id, key] = describe_decision(
                experiment.name, revisions.get(revision), rules.get(rule),
                exceptions.get(exception), kinds.get(standing))
        return self.described[experiment.id, key]


def scenarios_then(experiments: list[Experiment], day: datetime.date) -> dict:
    """Each experiment's scenario column of the table, as of the end of a past day."""
    return {scenario_field(experiment): scenario_then(day, experiment.id, "id", UNKNOWN_SCENARIO)
            for experiment in experiments}


class PlainColumn(tables.Column):
    """A column whose export value is its value: django-tables2's default `value` inspects
    the render method's signature on every call, which was most of an export's time."""

    def value(self, value):
        return value


class ChoiceColumn(PlainColumn):
    """A choice field's label, from its choices read once: the model's get_..._display makes
    its choices hashable anew for every row, a quarter of a 20,000-site export's time."""

    def __init__(self, choices, **kwargs):
        self.labels = dict(choices)
        super().__init__(**kwargs)

    def render(self, value):
        return self.labels.get(value, value)

    value = render


class ScenarioColumn(PlainColumn):
    """The scenario of one experiment at the site, as a badge; blank where it is not served."""

    def __init__(self, experiment: Experiment, scenarios: dict[int, Scenario],
                 as_of: AsOf | None):
        self.experiment, self.as_of = experiment, as_of
        self.scenarios = {**scenarios, UNKNOWN_SCENARIO: None}
        super().__init__(verbose_name=experiment.name, accessor=scenario_field(experiment),
                         default="", attrs={"td": {"class": "scenario"}})

    def scenario(self, value) -> Scenario | None:
        """The scenario of a cell's value: its id, or in an export with what decided it,
        "id|…" (`with_table_columns`)."""
        return self.scenarios[int(value.partition("|")[0]) if isinstance(value, str)
                              else value]

    def render(self, value):
        return scenario_badge(self.scenario(value))

    def value(self, value):
        if value is None:
            return ""
        scenario = self.scenario(value)
        return scenario.name if scenario else Compliance.UNKNOWN.label

    def order(self, queryset, is_descending):
        if self.as_of:
            position = scenario_then(self.as_of.day, self.experiment.id, "position")
        else:
            position = Subquery(Assessment.objects
                                .filter(site=OuterRef("pk"), experiment_id=self.experiment.id)
                                .order_by().values("scenario__position")[:1])
        key = F("_scenario_position")
        ordering = key.desc(nulls_last=True) if is_descending else key.asc(nulls_last=True)
        return queryset.annotate(_scenario_position=position).order_by(ordering, "name"), True


class DecidedByColumn(PlainColumn):
    """In the exports only: what decided the experiment's assessment at the site, “CMS
    policy r7, rule 2”."""

    def __init__(self, experiment: Experiment, decisions: Decisions):
        self.experiment, self.decisions = experiment, decisions
        super().__init__(verbose_name=f"{experiment.name} decided by",
                         accessor=scenario_field(experiment), default="", visible=False,
                         orderable=False)

    def value(self, value):
        return self.decisions.describe(self.experiment, value.partition("|")[2])


class SiteTable(tables.Table):
    """Sites and what each experiment makes of them. Every render and value method here
    takes the value alone: that is what lets `body_rows` and `as_values` go through the rows
    without django-tables2's per-cell machinery."""

    name = PlainColumn(linkify=True, verbose_name="Site", attrs={"td": {"class": "nowrap"}})
    # The number, not the model's “Tier 2”: the column says “Tier”.
    tier = PlainColumn(attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    country = PlainColumn()
    kind = ChoiceColumn(SiteKind.choices)
    container_runtime = PlainColumn(verbose_name="Runtime", default="—")
    runtime_version = PlainColumn(verbose_name="Version", default="—", orderable=False)
    # Not a DateColumn: that renders a template per cell, once a quarter of the page's time.
    last_reported_at = PlainColumn(verbose_name="Last update", default="never")

    class Meta:
        model = Site
        fields = ["name", "tier", "country", "kind"]
        sequence = ["name", "tier", "country", "kind", "...", "container_runtime",
                    "runtime_version", "last_reported_at"]
        order_by = "name"
        attrs = {"class": "table sites"}
        template_name = "sites/site_table.html"
        empty_text = "No site matches these filters."

    def __init__(self, *args, experiments: list[Experiment], as_of: AsOf | None = None,
                 decisions: bool = False, **kwargs):
        """`decisions`: with what decided each assessment, for an export (the rows come
        `with_table_columns(decisions=True)`)."""
        scenarios = {scenario.id: scenario for scenario in Scenario.objects.all()}
        kwargs["extra_columns"] = [
            (scenario_field(experiment), ScenarioColumn(experiment, scenarios, as_of))
            for experiment in experiments
        ]
        if decisions:
            names = Decisions()
            kwargs["extra_columns"] += [
                (f"decided_{experiment.slug}", DecidedByColumn(experiment, names))
                for experiment in experiments]
        super().__init__(*args, **kwargs)
        self.stale_before = stale_before(end_of(as_of.day) if as_of else None)

    def paginate(self, *args, per_page: int | None = None, **kwargs):
        # per_page may come from the URL: keep it within what a page can sensibly show.
        if per_page is not None:
            per_page = min(max(per_page, 1), MAX_PER_PAGE)
        super().paginate(*args, per_page=per_page, **kwargs)

    def order_name(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        # Ignoring case, as people read names: “abc” between “ABB” and “ABD”, not after “ZZZ”.
        # The name itself breaks ties (“abc” and “ABC”), so that the order is stable.
        if is_descending:
            return queryset.order_by(Lower("name").desc(), "-name"), True
        return queryset.order_by(Lower("name"), "name"), True

    def value_last_reported_at(self, value) -> str:
        return value.astimezone(self.time_zone).date().isoformat()

    @cached_property
    def time_zone(self) -> datetime.tzinfo:
        """The time zone days are shown in, looked up once per table, not once a row."""
        return timezone.get_current_timezone()

    def render_last_reported_at(self, value) -> str:
        day = self.value_last_reported_at(value)
        if value < self.stale_before:
            # The flag may wrap below the day: the table fits a laptop's window.
            return format_html('<span class="nowrap">{}</span> <span class="tag warn" title="Not '
                               'confirmed for over {} days">stale</span>', day,
                               settings.CAPABILITY_CONFIRM_DAYS)
        return format_html('<span class="nowrap">{}</span>', day)

    def body_rows(self) -> list[SafeString]:
        """The page's rows as HTML, a format_html per cell, as Django admin renders its change
        list. django-tables2's BoundRow re-resolves the accessor's model field, inspects the
        render method's signature and rebuilds the column's attributes for every cell: that
        made this page slower than admin's change list of the same sites."""
        columns = [(column, flatatt(column.attrs["td"])) for column in self.columns]
        return [
            format_html("<tr>{}</tr>", format_html_join(
                "", "<td{}>{}</td>",
                ((attrs, self.cell(column, row.record)) for column, attrs in columns)))
            for row in self.paginated_rows
        ]

    def as_values(self, exclude_columns=None) -> Iterator[list]:
        """The header, then each row's export values, the rows read in chunks so that an
        export streams. Every export (CSV, XLSX, JSON) comes through here."""
        columns = [column for column in self.columns.iterall()
                   if not (column.column.exclude_from_export
                           or column.name in (exclude_columns or ()))]
        yield [str(column.header) for column in columns]
        # Each column is a field or an annotation of the rows: read as tuples, no model
        # instance per row (a sixth of a 20,000-site export's time), nor an accessor's
        # `resolve` per cell (which tries a key, an attribute and an index at every step).
        rows = self.data.data.values_list(*(str(column.accessor) for column in columns))
        for row in rows.iterator(chunk_size=2000):
            yield [self.cell_value(column, value) for column, value in zip(columns, row,
                                                                            strict=True)]

    @staticmethod
    def cell(column: BoundColumn, record: Site):
        value = column.accessor.resolve(record)
        if value in column.column.empty_values:
            return column.default
        content = column.render(value)
        return column.link(content, record=record, value=value) if column.link else content

    @staticmethod
    def cell_value(column: BoundColumn, value):
        return None if value in column.column.empty_values else column.value(value=value)


# Text a spreadsheet would take for a formula (OWASP's "CSV injection"): a site named
# "=HYPERLINK(...)" must arrive as text in whoever opens the export.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_rows(table: SiteTable, exclude_columns=None) -> Iterator[list]:
    """The table's export values, each text that would start a formula led by an apostrophe,
    which spreadsheets show as text."""
    for row in table.as_values(exclude_columns):
        yield [f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START)
               else value for value in row]


class SiteExport(TableExport):
    """Only the formats the page offers; any other `_export` value shows the page. XLSX cells
    are text where they would otherwise be formulas; JSON keeps the values as they are."""

    OFFERED = ("csv", "xlsx", "json")

    @classmethod
    def is_valid_format(cls, export_format: str | None) -> bool:
        return export_format in cls.OFFERED

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None) -> Dataset:
        if self.format == "json":
            return super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        header, *rows = spreadsheet_rows(table, exclude_columns)
        return Dataset(*rows, headers=header, title="Sites")


CSV_LINES_A_CHUNK = 500


def stream_csv(table: SiteTable) -> Iterator[str]:
    """The table as CSV, in chunks of CSV_LINES_A_CHUNK lines: exporting 20,000 sites needs no
    more memory than exporting 2,000, and the response handles 40 chunks, not 20,000 lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for n, row in enumerate(spreadsheet_rows(table), start=1):
        writer.writerow(row)
        if n % CSV_LINES_A_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
