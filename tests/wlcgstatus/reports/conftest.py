"""What the report tests share: a media folder of the test's own, a signed-in WG member, a few
sites on the demo day, and reports of the demo data made through the pages."""

import pytest

from sites.management.commands.build_demo_fixture import DEMO_DATE
from wlcgstatus.models import Report

from ...factories.accounts import UserFactory
from ...factories.sites import make_site
from ...helpers import request_report


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def member(db):
    return UserFactory(username="wanda", email="wg@example.org")


@pytest.fixture
def a_few_sites(reference, on_demo_date):
    make_site("CH-ONE", serves=("cms", "atlas"), container_runtime="singularity")
    make_site("CH-TWO", serves=("cms", "lhcb"), container_runtime="none")
    make_site("CH-THREE", serves=("alice",), container_runtime="none")


@pytest.fixture
def demo_report(client, member, demo, media, django_capture_on_commit_callbacks):
    """Make a report of the demo data in a format, through the pages; returns its bytes."""
    client.force_login(member)

    def make(fmt: str) -> bytes:
        report = request_report(client, django_capture_on_commit_callbacks,
                                as_of=DEMO_DATE.isoformat(), since="2026-10-01", format=fmt)
        assert report.status == Report.Status.DONE, report.error
        response = client.get(f"/reports/{report.pk}/download/")
        assert response["Content-Disposition"] == (
            f'attachment; filename="wlcg-isolation-status-2026-11-26-since-2026-10-01.{fmt}"')
        return b"".join(response.streaming_content)

    return make
