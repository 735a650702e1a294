"""The project's background work: meeting reports, and the day's counts stored every night."""

import logging

from celery import shared_task
from django.core.files.base import ContentFile
from django.utils import timezone

from sites.clock import recompute_overtaken

from .models import Report
from .reports import render
from .reports.compose import compose
from .snapshots import take_snapshot

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def generate_report(self, report_id: int) -> str:
    """Compose and render a report, recording its progress for the page that waits on it.
    A failure is recorded on the report, with why, so that the page can say so."""
    report = Report.objects.get(pk=report_id)

    def progress(percent: int, step: str) -> None:
        Report.objects.filter(pk=report_id).update(progress=percent, step=step)
        self.update_state(state="PROGRESS", meta={"progress": percent, "step": step})

    Report.objects.filter(pk=report_id).update(status=Report.Status.RUNNING, error="")
    try:
        progress(5, "Reading the figures")
        recompute_overtaken(timezone.localdate())  # as a page would before it reads them
        content = compose(report.as_of, report.since)
        progress(15, "Writing the report")
        match report.format:
            case Report.Format.MARKDOWN:
                data = render.as_markdown(content)
            case Report.Format.HTML:
                data = render.as_html(content, progress)
            case Report.Format.PDF:
                data = render.as_pdf(content, progress)
            case _:
                data = render.as_csv()
        report.file.save(report.filename, ContentFile(data), save=False)
    except Exception as error:
        logger.exception("Report %s failed", report_id)
        Report.objects.filter(pk=report_id).update(
            status=Report.Status.FAILED, error=f"{type(error).__name__}: {error}",
            finished_at=timezone.now())
        return Report.Status.FAILED
    Report.objects.filter(pk=report_id).update(
        status=Report.Status.DONE, progress=100, step="Done", file=report.file.name,
        finished_at=timezone.now())
    return Report.Status.DONE


@shared_task
def snapshot_today() -> int:
    """Nightly: the day's counts per experiment and scenario, per migration and step."""
    return take_snapshot(timezone.localdate())
