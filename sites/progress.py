"""Migration progress derived from what sites report and how they are assessed. A step is done
at a site that reports what its condition asks or is assessed in one of its scenarios; a
site has completed the last step of the unbroken run of done steps from the first.
Migrations whose steps no report can show are recorded by hand instead
(`sites.views.record_progress`) and left alone here."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Max
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from experiments.models import Migration, MigrationStep

from .history import BASELINE
from .models import Assessment, AssessmentChange, SiteMigration


def derived_migrations() -> list[Migration]:
    return [migration for migration in
            Migration.objects.prefetch_related("steps__done_in", "steps__capability")
            if migration.derived]


def completed_step(steps: list[MigrationStep], reported: dict[str, str],
                   scenario_id: int | None) -> MigrationStep | None:
    completed = None
    for step in steps:
        if not step.reached(reported, scenario_id):
            break
        completed = step
    return completed


def derive_progress(site_ids: list[int], migrations: list[Migration],
                    reported: dict[int, dict[str, str]], assessments: list[Assessment],
                    today: datetime.date) -> None:
    """Bring the sites' progress in the derived migrations in line with what they reported
    (site id → capability key → value) and their assessments (as just stored): every site
    serving the experiment takes part. A step reached anew is dated from when the site's
    scenario last changed (the history), or today."""
    if not migrations:
        return
    scenarios: dict[int, dict[int, int | None]] = defaultdict(dict)  # experiment → site → …
    for assessment in assessments:
        scenarios[assessment.experiment_id][assessment.site_id] = assessment.scenario_id
    since = {(row["site_id"], row["experiment_id"]): row["last"].date() for row in
             AssessmentChange.objects.filter(site_id__in=site_ids)
             .exclude(event=AssessmentChange.Event.UPDATED).order_by()
             .values("site_id", "experiment_id").annotate(last=Max("changed_at"))}
    stored = {(state.site_id, state.migration_id): state for state in
              SiteMigration.objects.filter(site_id__in=site_ids, migration__in=migrations)}
    created, updated = [], []
    for migration in migrations:
        steps = list(migration.steps.all())
        for site_id, scenario_id in scenarios[migration.experiment_id].items():
            step = completed_step(steps, reported[site_id], scenario_id)
            state = stored.pop((site_id, migration.id), None)
            if state is None:
                day = since.get((site_id, migration.experiment_id), today) if step else today
                created.append(SiteMigration(site_id=site_id, migration=migration,
                                             completed_step=step, updated_on=day))
            elif state.completed_step_id != (step.id if step else None) or state.recorded_by_id:
                state.completed_step, state.updated_on, state.recorded_by = step, today, None
                updated.append(state)
    # Sites that no longer serve the experiment take no part any more.
    SiteMigration.objects.filter(pk__in=[state.pk for state in stored.values()]).delete()
    # A site's first derived state is where its history starts, not a change to show.
    bulk_create_with_history(created, SiteMigration, batch_size=2000,
                             default_change_reason=BASELINE)
    bulk_update_with_history(updated, SiteMigration,
                             ["completed_step", "updated_on", "recorded_by"], batch_size=2000)
