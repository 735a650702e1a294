import datetime

from celery import shared_task
from django.utils import timezone

from .recompute import recompute
from .reminders import send_reminders


@shared_task
def recompute_experiment(experiment_id: int) -> int:
    """Recompute every assessment of one experiment, after its policy changed."""
    return recompute(experiments=[experiment_id])


@shared_task
def recompute_all_assessments() -> int:
    """Recompute everything: nightly, so that exceptions stop applying when they expire."""
    return recompute()


@shared_task
def remind(day: str | None = None) -> int:
    """Every morning: mail about exceptions about to expire and capabilities gone unconfirmed."""
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return send_reminders(today)
