"""A report that fails says why, on its page and in its status, offers nothing to download, and
can be made again."""

from __future__ import annotations

import re

from wlcgstatus.models import Report
from wlcgstatus.reports import render

from ...factories.accounts import UserFactory
from ...helpers import REPORT_TITLE, download, request_report


def test_a_failed_report_says_why_and_can_be_made_again(
        client, member, a_few_sites, media, monkeypatch, django_capture_on_commit_callbacks):
    def boom(report):
        raise RuntimeError("boom")

    monkeypatch.setattr(render, "as_markdown", boom)
    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-26", format="md")
    assert report.status == Report.Status.FAILED
    assert report.error == "RuntimeError: boom"
    assert not report.file

    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert re.search(r'<div class="failure form-errors"\s*>\s*<p><strong>The report could not '
                     r'be made:</strong> <span class="error-text">RuntimeError: boom</span>', html)
    assert re.search(r'<p class="download" hidden>', html)
    status = client.get(f"/reports/{report.pk}/status/").json()
    assert status["status"] == "failed"
    assert status["error"] == "RuntimeError: boom"
    assert status["download"] is None
    assert client.get(f"/reports/{report.pk}/download/").status_code == 404

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reports/{report.pk}/retry/")
    assert response.status_code == 302 and response["Location"] == f"/reports/{report.pk}/"
    report.refresh_from_db()
    assert report.status == Report.Status.DONE and report.error == ""
    assert download(client, report).startswith(f"# {REPORT_TITLE}".encode())
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert '<div class="failure form-errors" hidden>' in html


def failed_report(client, member, callbacks, monkeypatch) -> Report:
    monkeypatch.setattr(render, "as_markdown", lambda report: 1 / 0)
    client.force_login(member)
    report = request_report(client, callbacks, as_of="2026-11-26", format="md")
    monkeypatch.undo()
    client.logout()
    return report


def test_only_who_asked_or_a_wg_member_may_try_a_failed_report_again(
        client, member, a_few_sites, media, monkeypatch, django_capture_on_commit_callbacks):
    report = failed_report(client, member, django_capture_on_commit_callbacks, monkeypatch)
    client.force_login(UserFactory(username="someone"))

    assert "Try again" not in client.get(f"/reports/{report.pk}/").content.decode()
    refused = client.post(f"/reports/{report.pk}/retry/")
    assert refused.status_code == 403
    assert "Only who asked for this report, or a WG member" in refused.content.decode()
    report.refresh_from_db()
    assert report.status == Report.Status.FAILED

    client.force_login(UserFactory(username="wendy", wg_member=True))
    assert "Try again" in client.get(f"/reports/{report.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reports/{report.pk}/retry/")
    report.refresh_from_db()
    assert report.status == Report.Status.DONE
