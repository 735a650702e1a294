import datetime

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from .importers.runs import run_import
from .models import ImportRun
from .recompute import recompute
from .reminders import send_reminders


@shared_task
def recompute_experiment(experiment_id: int) -> int:
    """Recompute every assessment of one experiment, after its policy changed: the changes it
    makes name the policy's revision."""
    return recompute(experiments=[experiment_id], by_policy=True)


@shared_task
def recompute_all_assessments() -> int:
    """Recompute everything: nightly, so that exceptions stop applying when they expire."""
    return recompute()


@shared_task
def remind(day: str | None = None) -> int:
    """Every morning: mail about exceptions about to expire and capabilities gone unconfirmed."""
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return send_reminders(today)


@shared_task
def import_from_cric(trigger: str = ImportRun.Trigger.SCHEDULE, user_id: int | None = None,
                     dry_run: bool = False) -> str:
    """Import from CRIC_URL (daily, by beat, when it is set; or started on the import runs
    page), keeping the run; its outcome."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    run = run_import("CRIC", settings.CRIC_URL, trigger=trigger, user=user, dry_run=dry_run)
    return run.outcome
