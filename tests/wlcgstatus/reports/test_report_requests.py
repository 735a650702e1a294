"""Reports through the pages: a signed-in user requests one, watches its status and downloads it;
anyone may download, only the signed-in may request; a request the form refuses is shown again
with the message and the entries."""

from __future__ import annotations

import datetime
import re

import pytest

from wlcgstatus.models import Report

from ...factories.accounts import UserFactory
from ...helpers import REPORT_TITLE, download, request_report


def test_a_signed_in_user_requests_a_report_and_downloads_it(
        client, member, a_few_sites, media, django_capture_on_commit_callbacks):
    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-26", since="2026-10-01", format="md")
    assert report.status == Report.Status.DONE
    assert report.progress == 100
    assert report.requested_by == member
    assert report.finished_at is not None

    page = client.get(f"/reports/{report.pk}/")
    assert page.status_code == 200
    assert f'href="/reports/{report.pk}/download/"' in page.content.decode()

    response = client.get(f"/reports/{report.pk}/download/")
    assert response.status_code == 200
    filename = "wlcg-isolation-status-2026-11-26-since-2026-10-01.md"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    content = b"".join(response.streaming_content).decode()
    assert content.startswith(f"# {REPORT_TITLE}")
    assert "changes since 1 October 2026" in content

    listing = client.get("/reports/").content.decode()
    assert f'href="/reports/{report.pk}/download/"' in listing
    assert "2026-11-26" in listing and "2026-10-01" in listing
    assert download(client, report).decode() == content  # and again, later


def test_the_status_json_gives_status_progress_and_the_download_url(
        client, member, a_few_sites, media, django_capture_on_commit_callbacks):
    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-20", format="md")
    assert client.get(f"/reports/{report.pk}/status/").json() == {
        "status": "done", "progress": 100, "step": "Done", "error": "",
        "download": f"/reports/{report.pk}/download/"}

    queued = Report.objects.create(as_of=datetime.date(2026, 11, 1), format="pdf")
    assert client.get(f"/reports/{queued.pk}/status/").json() == {
        "status": "queued", "progress": 0, "step": "", "error": "", "download": None}
    assert client.get(f"/reports/{queued.pk}/download/").status_code == 404
    assert client.get("/reports/999999/status/").status_code == 404


def test_anonymous_users_must_sign_in_to_request_but_can_download(
        client, member, a_few_sites, media, django_capture_on_commit_callbacks):
    response = client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reports/new/"
    assert not Report.objects.exists()
    listing = client.get("/reports/").content.decode()
    assert 'href="/accounts/login/?next=/reports/"' in listing
    assert 'action="/reports/new/"' not in listing

    client.force_login(member)
    report = request_report(client, django_capture_on_commit_callbacks,
                            as_of="2026-11-26", format="md")
    client.logout()
    assert download(client, report).startswith(f"# {REPORT_TITLE}".encode())
    assert client.get(f"/reports/{report.pk}/").status_code == 200
    assert client.get(f"/reports/{report.pk}/status/").json()["status"] == "done"
    retry = client.post(f"/reports/{report.pk}/retry/")
    assert retry["Location"] == f"/accounts/login/?next=/reports/{report.pk}/retry/"


@pytest.mark.parametrize(("data", "message"), [
    ({"as_of": "2026-11-27", "since": "", "format": "md"},
     "A report cannot be made of a day still to come."),
    ({"as_of": "2026-11-01", "since": "2026-11-10", "format": "pdf"},
     "The earlier day must come before the report&#x27;s day."),
    ({"as_of": "2026-11-01", "since": "2026-11-01", "format": "csv"},
     "The earlier day must come before the report&#x27;s day."),
], ids=["as-of-in-the-future", "since-after-as-of", "since-equal-to-as-of"])
def test_an_invalid_request_is_shown_again_with_the_message_and_the_entries(
        client, member, a_few_sites, media, data, message):
    client.force_login(member)
    response = client.post("/reports/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert f'value="{data["as_of"]}"' in html
    if data["since"]:
        assert f'value="{data["since"]}"' in html
    assert re.search(rf'value="{data["format"]}"[^>]*checked', html)
    assert not Report.objects.exists()


def test_no_one_keeps_the_queue_for_themselves(client, member, a_few_sites, settings):
    client.force_login(member)
    for _ in range(settings.REPORTS_IN_PROGRESS_PER_USER):  # no worker takes them meanwhile
        assert client.post("/reports/new/", {"as_of": "2026-11-26", "format": "pdf"}
                           ).status_code == 302

    refused = client.post("/reports/new/", {"as_of": "2026-11-20", "format": "md"})

    assert refused.status_code == 200
    assert "You have 2 reports being made already: wait until one is done" in (
        refused.content.decode())
    assert refused.context["form"]["as_of"].value() == "2026-11-20"  # the entries are kept
    assert Report.objects.count() == settings.REPORTS_IN_PROGRESS_PER_USER
    # Someone else is not held up.
    client.force_login(UserFactory(username="other"))
    assert client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"}
                       ).status_code == 302


def test_a_day_holds_a_limited_number_of_reports_per_person(
        client, member, a_few_sites, media, settings, django_capture_on_commit_callbacks):
    settings.REPORTS_PER_DAY_PER_USER = 3
    client.force_login(member)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"})
    assert Report.objects.filter(status=Report.Status.DONE).count() == 3

    refused = client.post("/reports/new/", {"as_of": "2026-11-26", "format": "md"})

    assert "You have asked for 3 reports in the last 24 hours" in refused.content.decode()
    assert Report.objects.count() == 3
