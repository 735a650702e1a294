from celery import shared_task

from .recompute import recompute


@shared_task
def recompute_experiment(experiment_id: int) -> int:
    """Recompute every assessment of one experiment, after its policy changed."""
    return recompute(experiments=[experiment_id])


@shared_task
def recompute_all_assessments() -> int:
    """Recompute everything: nightly, so that exceptions stop applying when they expire."""
    return recompute()
