"""The cross-cutting pages: the overview, each experiment, each migration, the scenarios."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import FileResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django_tables2 import RequestConfig

from experiments.models import (
    Compliance,
    Experiment,
    Migration,
    MigrationStep,
    RuleCondition,
    Scenario,
)
from sites.as_of import AsOf, day_of, shows_status_as_of
from sites.cache import cached
from sites.history import all_changes
from sites.models import Assessment, ExperimentSite, Site, SiteException, SiteMigration
from sites.permissions import is_wg_member
from sites.tables import SiteTable, with_table_columns
from sites.timeline import assessed_on, end_of, existing_on, scenario_counts_on

from . import charts, trends
from .badges import Badge, badge_response
from .forms import PeriodForm
from .past import migration_on, policy_on, status_on
from .reports.compose import changes_between
from .summary import ExperimentSummary, migration_progress, sites_url, summarise

EXCEPTIONS_SHOWN = 50
SITES_SHOWN = 100  # a page of a migration's sites
CHANGES_SHOWN = 50  # of each kind, per experiment, for a period on /changes/
REVISIONS_SHOWN = 10  # the latest; each revision's page compares it with any other
RULE, EXCEPTION = "rule", "exception"  # what decided a site, on the experiment page
PROBE_PATH = Path(__file__).parent / "probe" / "wlcg_capability_probe.py"


@shows_status_as_of
def overview(request):
    day = day_of(request)
    return render(request, "wlcgstatus/overview.html",
                  cached(f"overview:{day}:{bool(request.as_of)}",
                         lambda: _overview(request.as_of)))


def _overview(as_of: AsOf) -> dict:
    """The cards, and how many sites serve an experiment: as of the day asked for, or now."""
    if as_of:
        status = status_on(as_of.day, list(Experiment.objects.all()))
        summaries, site_count = status.summaries, len({site for site, _ in status.state})
    else:
        summaries = summarise(timezone.localdate())
        site_count = Assessment.objects.order_by().values("site_id").distinct().count()
    cards = [(summary, charts.for_page(charts.scenario_bar(summary),
                                       f"chart-{summary.experiment.slug}", toolbar=False))
             for summary in summaries]
    return {"cards": cards, "site_count": site_count}


@shows_status_as_of
def experiment_detail(request, slug: str):
    experiment = get_object_or_404(Experiment, slug=slug)
    figures = experiment_figures(experiment, request.as_of)
    if request.as_of:
        policy, kinds = policy_on(experiment, request.as_of.day)
    else:
        policy = [(rule, rule.conditions.all()) for rule in
                  experiment.rules.select_related("scenario").prefetch_related(
                      Prefetch("conditions", RuleCondition.objects.select_related("capability")))]
        kinds = experiment.exception_kinds.select_related("scenario")
    rules = [(rule, conditions, figures.sites_decided(RULE, rule.id))
             for rule, conditions in policy]
    exception_kinds = [(kind, figures.sites_decided(EXCEPTION, kind.id)) for kind in kinds]
    if request.as_of:
        exceptions = figures.exceptions
    else:  # the most urgent first, and no more than a page: the sites table lists them all
        today = timezone.localdate()
        exceptions = list(SiteException.objects.filter(experiment=experiment, revoked_on=None,
                                                       site__retired_on=None)
                          .select_related("site", "kind").with_state(today)
                          .order_by("expires_on", "site__name")[:EXCEPTIONS_SHOWN])
    revisions = experiment.revisions.select_related("made_by")
    if request.as_of:
        revisions = revisions.filter(made_at__lt=end_of(request.as_of.day))
    table = SiteTable(sites_serving(experiment, request.as_of), experiments=[experiment],
                      as_of=request.as_of)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "wlcgstatus/experiment_detail.html", {
        "experiment": experiment,
        "figures": figures,
        "summary": figures.summary,
        "trend": figures.trend,
        "rules": rules,
        "exception_kinds": exception_kinds,
        "exceptions": exceptions,
        "more_exceptions": len(exceptions) == EXCEPTIONS_SHOWN,
        "exceptions_url": sites_url(experiment=experiment.slug, exception="active"),
        "table": table,
        "all_sites_url": sites_url(experiment=experiment.slug),
        "public_url": settings.SITE_URL,
        "changes_policy": is_wg_member(request.user),
        "revisions": revisions[:REVISIONS_SHOWN],
    })


@dataclass
class ExperimentFigures:
    """What the experiment page counts over all its sites, as of a day: its summary and
    chart, its compliance classes over time, and how many sites each rule and each
    exception kind decided ((RULE, id) or (EXCEPTION, id) → sites; a site an exception
    serves was decided by it, not by a rule; not recorded for a past day). For a past day,
    also its exceptions as they stood, the most urgent first."""

    summary: ExperimentSummary
    chart: str
    trend: trends.Trend
    trend_chart: str
    decided: Counter | None
    exceptions: list[SiteException]

    def sites_decided(self, by: str, pk: int) -> int | None:
        """How many sites the rule or exception kind decided (None: not known for a past
        day)."""
        return None if self.decided is None else self.decided[by, pk]


def experiment_figures(experiment: Experiment, as_of: AsOf | None = None) -> ExperimentFigures:
    day = as_of.day if as_of else timezone.localdate()
    return cached(f"experiment:{experiment.slug}:{day}:{bool(as_of)}",
                  lambda: _experiment_figures(experiment, day, bool(as_of)))


def _experiment_figures(experiment: Experiment, day, past: bool) -> ExperimentFigures:
    decided, exceptions = Counter(), []
    if past:
        status = status_on(day, [experiment])
        (summary,) = status.summaries
        exceptions = status.exceptions_listed(experiment.id)[:EXCEPTIONS_SHOWN]
        decided = None
    else:
        (summary,) = summarise(day, [experiment])
        for rule_id, granted, standing, n in (
                Assessment.objects.filter(experiment=experiment)
                .values("rule_id", "exception__kind_id", "standing_exception_id")
                .annotate(n=Count("id"))
                .values_list("rule_id", "exception__kind_id", "standing_exception_id", "n")):
            kind = granted or standing
            decided[(EXCEPTION, kind) if kind else (RULE, rule_id)] += n
    chart = charts.for_page(charts.scenario_bar(summary, height=170), "chart-scenarios",
                            toolbar=False)
    trend = trends.compliance_trend(summary, day)
    trend_chart = charts.for_page(charts.compliance_area(trend, {
        figure.label: figure.url for figure in summary.compliance}), "chart-trend")
    return ExperimentFigures(summary, chart, trend, trend_chart, decided, exceptions)


def sites_serving(experiment: Experiment, as_of: AsOf | None):
    """The sites serving the experiment (as of the day asked for), with the table's columns."""
    if as_of:
        sites = Site.objects.filter(existing_on(as_of.day),
                                    assessed_on(as_of.day, experiment=experiment))
    else:
        served = ExperimentSite.objects.filter(experiment=experiment).values("site_id")
        sites = Site.objects.filter(retired_on=None, pk__in=served)
    return with_table_columns(sites, [experiment], as_of)


@shows_status_as_of
def migration_detail(request, experiment: str, slug: str):
    migration = get_object_or_404(
        Migration.objects.select_related("experiment").prefetch_related(
            Prefetch("steps", MigrationStep.objects.select_related("target_period",
                                                                   "capability")),
            "steps__done_in"),
        experiment__slug=experiment, slug=slug)
    if request.as_of:
        # Rebuilt from every site's history: cached, as the figures of today's pages are.
        day = request.as_of.day
        summary, states = cached(f"migration:{migration.id}:{day}",
                                 lambda: migration_on(migration, day))
        page = Paginator(states, SITES_SHOWN).get_page(request.GET.get("page"))
        listed = past_states(migration, page)
    else:
        summary = migration_progress([migration], timezone.localdate())[0]
        page = Paginator(SiteMigration.objects.filter(migration=migration,
                                                      site__retired_on=None)
                         .select_related("site", "completed_step", "recorded_by")
                         .order_by("completed_step__position", "site__name"), SITES_SHOWN
                         ).get_page(request.GET.get("page"))
        scenarios = {assessment.site_id: assessment.scenario for assessment in
                     Assessment.objects.filter(experiment=migration.experiment,
                                               site__in=[state.site_id for state in page])
                     .select_related("scenario")}
        listed = [(state, scenarios.get(state.site_id)) for state in page]
    steps = list(migration.steps.all())
    burndown = trends.migration_burndown(summary, day_of(request))
    chart = charts.migration_burndown(
        burndown, {step.name: (step.due_on, step.target_label) for step in steps if step.due_on},
        {step.name: sites_url(experiment=migration.experiment.slug) for step in steps},
    )
    return render(request, "wlcgstatus/migration_detail.html", {
        "migration": migration,
        "steps": steps,
        "summary": summary,
        "unrecorded": summary.total - page.paginator.count,
        "chart": charts.for_page(chart, "chart-migration"),
        "trend": burndown,
        "page": page,
        "states": listed,
        "changes_policy": is_wg_member(request.user),
    })


def past_states(migration: Migration, page) -> list[tuple[SiteMigration, Scenario | None]]:
    """A page of a migration's states on a past day (`migration_on`), as the page shows
    them: each a SiteMigration with its site and who recorded it, and the site's scenario."""
    sites = Site.objects.in_bulk([past.site_id for past in page])
    people = get_user_model().objects.in_bulk(
        {past.recorded_by_id for past in page if past.recorded_by_id})
    steps = {step.id: step for step in migration.steps.all()}
    scenarios = Scenario.objects.in_bulk()
    return [(SiteMigration(site=sites[past.site_id], migration=migration,
                           completed_step=steps.get(past.step_id), updated_on=past.updated_on,
                           recorded_by=people.get(past.recorded_by_id)),
             scenarios.get(past.scenario_id)) for past in page]


@shows_status_as_of
def scenario_list(request):
    experiments = list(Experiment.objects.all())
    if request.as_of:
        day = request.as_of.day  # rebuilt over every site: cached, as the overview is
        counts = cached(f"scenario-counts:{day}", lambda: {
            (scenario_id, experiment_id): n
            for (experiment_id, scenario_id), n in scenario_counts_on(day).items()})
    else:
        counts = {(row["scenario_id"], row["experiment_id"]): row["n"] for row in
                  Assessment.objects.values("scenario_id", "experiment_id")
                  .annotate(n=Count("id"))}
    used_by = {}
    for scenario_id, experiment_id in Experiment.objects.values_list("rules__scenario_id", "id"):
        used_by.setdefault(scenario_id, set()).add(experiment_id)
    for scenario_id, experiment_id in Experiment.objects.values_list(
            "exception_kinds__scenario_id", "id"):
        used_by.setdefault(scenario_id, set()).add(experiment_id)
    rows = []
    for scenario in Scenario.objects.all():
        per_experiment = [
            (experiment, counts.get((scenario.id, experiment.id), 0),
             sites_url(experiment=experiment.slug, scenario=scenario.slug))
            for experiment in experiments if experiment.id in used_by.get(scenario.id, ())
        ]
        rows.append((scenario, per_experiment,
                     sum(counts.get((scenario.id, e.id), 0) for e in experiments)))
    return render(request, "wlcgstatus/scenario_list.html", {
        "rows": rows, "changes_policy": is_wg_member(request.user)})


@shows_status_as_of
def changes(request):
    """Every recorded change, WG-wide, newest first; for a period, also what it changed per
    experiment, as a report's “changes since” lists it. As of a past day, the changes up to
    its end, and a period ends there unless it says otherwise."""
    today = day_of(request)
    form = PeriodForm(request.GET if "since" in request.GET else None)
    context = {"form": form, "today": today, "period": None}
    if form.is_valid():
        since, until = form.cleaned_data["since"], form.cleaned_data["until"] or today
        experiments, scenarios = cached("experiments-and-scenarios", lambda: (
            list(Experiment.objects.all()), Scenario.objects.in_bulk()))
        changes = changes_between(experiments, since, until, scenarios)
        context |= {
            "period": (since, until),
            # A year at 20,000 sites is thousands of changes: the page shows the first of
            # each kind, and says how many more the period's report lists.
            "by_experiment": [(experiment, shown, changes[experiment.id].count - shown.count)
                              for experiment in experiments
                              for shown in [changes[experiment.id].first(CHANGES_SHOWN)]],
            "history": all_changes(limit=200, since=end_of(since), until=end_of(until)),
        }
    else:
        context["history"] = all_changes(limit=200, until=end_of(today) if request.as_of
                                         else None)
    return render(request, "wlcgstatus/changes.html", context)


def experiment_badge(request, slug: str):
    """“CMS · 73% target”: the share of the experiment's sites in the target class."""
    experiment = get_object_or_404(Experiment, slug=slug)
    summary = experiment_figures(experiment).summary
    target = next(figure for figure in summary.compliance if figure.key == Compliance.TARGET)
    return badge_response(request, Badge(experiment.name, f"{target.share}% target",
                                         Compliance.TARGET.colour))


def site_badge(request, name: str, experiment: str):
    """“CMS · Isolated in containers”: the site's scenario for the experiment, in its class's
    colour; Unknown as such, and “stale” where no one has confirmed the capabilities."""
    assessment = get_object_or_404(
        Assessment.objects.with_confirmation().select_related("experiment", "scenario"),
        site__name=name, experiment__slug=experiment)
    message = assessment.scenario.short_name if assessment.scenario else "Unknown"
    return badge_response(request, Badge(
        assessment.experiment.name, f"{message} · stale" if assessment.stale else message,
        assessment.compliance.colour))


def probe_script(request):
    """The capability probe, for site admins to copy onto a worker node."""
    return FileResponse(open(PROBE_PATH, "rb"), as_attachment=True,
                        filename=PROBE_PATH.name, content_type="text/x-python")
