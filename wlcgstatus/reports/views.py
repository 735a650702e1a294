"""Requesting a meeting report, watching it being made, and downloading it again later."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from sites.permissions import is_wg_member

from ..models import Report
from ..queue import queue_available
from ..tasks import generate_report
from .forms import ReportForm

QUEUE_DOWN = ("The task queue is unavailable, so no report can be made right now. The "
              "dashboard itself keeps working; try again in a while.")


def report_list(request):
    form = ReportForm(initial={"as_of": timezone.localdate(), "format": Report.Format.PDF})
    return render(request, "reports/report_list.html", {
        "form": form, "reports": Report.objects.select_related("requested_by")[:50],
        "queue_available": queue_available(),
    })


@login_required
@require_POST
def report_request(request):
    form = ReportForm(request.POST, requested_by=request.user)
    available = queue_available()
    if not form.is_valid() or not available:
        if not available:
            messages.error(request, QUEUE_DOWN)
        return render(request, "reports/report_list.html", {
            "form": form, "reports": Report.objects.select_related("requested_by")[:50],
            "queue_available": available,
        })
    report = form.save(commit=False)
    report.requested_by = request.user
    report.save()
    _enqueue(report)
    return redirect(report)


def report_detail(request, pk: int):
    report = get_object_or_404(Report, pk=pk)
    return render(request, "reports/report_detail.html", {
        "report": report,
        "may_retry": request.user.is_authenticated and can_retry(request.user, report),
    })


def report_status(request, pk: int):
    """What the waiting page polls."""
    report = get_object_or_404(Report, pk=pk)
    return JsonResponse({
        "status": report.status, "progress": report.progress, "step": report.step,
        "error": report.error,
        "download": reverse("reports:report_download", args=[pk]) if report.file else None,
    })


def report_download(request, pk: int):
    report = get_object_or_404(Report, pk=pk, status=Report.Status.DONE)
    if not report.file:
        raise Http404("This report has no file.")
    return FileResponse(report.file.open("rb"), as_attachment=True, filename=report.filename)


@login_required
@require_POST
def report_retry(request, pk: int):
    report = get_object_or_404(Report, pk=pk, status=Report.Status.FAILED)
    if not can_retry(request.user, report):
        raise PermissionDenied("Only who asked for this report, or a WG member, may try it again.")
    if not queue_available():
        messages.error(request, QUEUE_DOWN)
        return redirect(report)
    Report.objects.filter(pk=pk).update(status=Report.Status.QUEUED, progress=0, step="",
                                        error="", finished_at=None)
    _enqueue(report)
    return redirect(report)


def can_retry(user, report: Report) -> bool:
    return report.requested_by_id == user.pk or is_wg_member(user)


def _enqueue(report: Report) -> None:
    transaction.on_commit(lambda: generate_report.delay(report.pk))
