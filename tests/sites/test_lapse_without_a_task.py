"""An assessment that rests on an exception holds until the exception expires; the day after,
every page, the API and the report show the lapsed status without any task having run."""

import datetime

import pytest

from wlcgstatus.models import Report
from wlcgstatus.tasks import generate_report

from ..factories.exceptions import grant
from ..helpers import day, get_json, on, section

EXPIRES = day(18)


@pytest.fixture
def excepted_site(site_a):
    """SITE-A, not isolated for CMS, under a transition exception from today until EXPIRES."""
    grant(site_a, day(0), EXPIRES)
    return site_a


def cms_scenario_on_page(client) -> str:
    page = client.get("/sites/SITE-A/")
    (assessment,) = [a for a in page.context["assessments"] if a.experiment.slug == "cms"]
    return assessment.scenario.slug


def cms_scenario_in_api(client) -> str:
    (assessment,) = get_json(client, "/api/assessments/",
                             {"site": "SITE-A", "experiment": "cms"})["results"]
    return assessment["scenario"]


def test_the_exception_holds_through_its_last_day(client, excepted_site):
    with on(EXPIRES, hour=23):
        assert cms_scenario_on_page(client) == "transition-exception"
        assert cms_scenario_in_api(client) == "transition-exception"


def test_the_day_after_its_expiry_pages_and_api_show_the_lapsed_status(client, excepted_site):
    with on(EXPIRES + datetime.timedelta(days=1)):
        assert cms_scenario_on_page(client) == "not-isolated"
        assert cms_scenario_in_api(client) == "not-isolated"
        page = client.get("/sites/SITE-A/").content.decode()
        assert f"expired on {EXPIRES.isoformat()} and no longer applies" in page
        overview = client.get("/")
        (cms,) = [summary for summary, _chart in overview.context["cards"]
                  if summary.experiment.slug == "cms"]
        assert {f.key: f.count for f in cms.compliance}["interim"] == 0


def test_the_day_after_its_expiry_a_report_shows_the_lapsed_status(excepted_site, settings,
                                                                    tmp_path):
    settings.MEDIA_ROOT = tmp_path
    day_after = EXPIRES + datetime.timedelta(days=1)
    with on(day_after):
        report = Report.objects.create(as_of=day_after, format=Report.Format.MARKDOWN)
        generate_report.delay(report.pk)

        report.refresh_from_db()
        assert report.status == Report.Status.DONE, report.error
        cms = section(report.file.read().decode(), "CMS")
        assert "interim 0 (0%)" in cms
        assert "non-compliant 1 (100%)" in cms, cms
