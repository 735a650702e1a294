"""Without a task queue no report is made, and every page of the dashboard still works; the queue
counts as down when its broker does not answer."""

from __future__ import annotations

import datetime
import re

import pytest

from wlcgstatus.celery import app as celery_app
from wlcgstatus.models import Report
from wlcgstatus.queue import queue_available


@pytest.fixture
def queue_down(monkeypatch):
    monkeypatch.setattr("wlcgstatus.reports.views.queue_available", lambda: False)
    monkeypatch.setattr("wlcgstatus.queue.queue_available", lambda: False)


def test_without_a_queue_no_report_is_made_and_the_dashboard_still_works(
        client, member, a_few_sites, media, queue_down, django_capture_on_commit_callbacks):
    client.force_login(member)
    listing = client.get("/reports/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "The task queue is unavailable" in html
    assert re.search(r'<button type="submit" class="primary" disabled', html)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"})
    assert response.status_code == 200
    assert "no report can be made right now" in response.content.decode()
    assert not Report.objects.exists()

    failed = Report.objects.create(as_of=datetime.date(2026, 11, 1), format="md",
                                   status=Report.Status.FAILED, error="OSError: disk full",
                                   requested_by=member)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/reports/{failed.pk}/retry/", follow=True)
    assert callbacks == []
    assert "no report can be made right now" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Report.Status.FAILED, "OSError: disk full")
    Report.objects.filter(pk=failed.pk).delete()

    for url in ("/", "/sites/", "/sites/CH-ONE/", "/experiments/cms/", "/scenarios/",
                "/changes/"):
        assert client.get(url).status_code == 200, url
    client.logout()
    for url in ("/", "/sites/", "/sites/CH-TWO/", "/experiments/lhcb/", "/reports/"):
        assert client.get(url).status_code == 200, url


def test_queue_available_is_false_when_the_broker_does_not_answer():
    assert queue_available()  # tasks run in-process in the tests
    previous = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    try:
        celery_app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:1/0")
        assert queue_available() is False
    finally:
        celery_app.conf.update(**previous)
    assert queue_available()
