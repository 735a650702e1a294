"""Exceptions as the WG grants, renews and revokes them through their forms: only WG members
may, mistakes are explained on the field with nothing saved, and each change applies to the
site's assessment at once; an exception past its expiry no longer applies."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from experiments.models import ExceptionKind, Experiment, Scenario
from sites.models import Assessment, SiteException
from sites.recompute import recompute

from ..factories.exceptions import grant
from ..helpers import (
    assert_sent_to_sign_in,
    day,
    field_error,
    fill,
    grant_url,
    page_form,
    page_text,
    renew_url,
    revoke_url,
    scenario_of,
    signed_in,
    stored,
)


def grant_entries(kind: ExceptionKind, reason: str, expires_in: int) -> dict[str, str]:
    """What a WG member enters in the grant form: the experiment, the kind, why, until when."""
    return {"experiment": str(kind.experiment_id), "kind": str(kind.pk), "reason": reason,
            "expires_on": day(expires_in).isoformat()}


def valid_exception_posts(site, exception: SiteException, kind: ExceptionKind
                          ) -> list[tuple[str, dict]]:
    """A grant, a renewal and a revocation that a WG member could make."""
    return [
        (grant_url(site), grant_entries(kind, "Deploying Apptainer", 90)),
        (renew_url(exception), {"expires_on": day(60).isoformat(), "reason": "Hardware late"}),
        (revoke_url(exception), {"reason": "Apptainer deployed"}),
    ]


# --- who may manage exceptions ------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["contact_a", "contact_b", "staff"])
def test_only_wg_members_grant_renew_or_revoke_exceptions(
        request, persona, site_a, cms_exception, cms_kind):
    client = signed_in(request.getfixturevalue(persona))
    before = stored(site_a)

    for url, data in valid_exception_posts(site_a, cms_exception, cms_kind):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url

    assert stored(site_a) == before
    assert SiteException.objects.count() == 1


def test_anonymous_exception_requests_are_sent_to_sign_in(client, site_a, cms_exception,
                                                          cms_kind):
    before = stored(site_a)

    for url, data in valid_exception_posts(site_a, cms_exception, cms_kind):
        assert_sent_to_sign_in(client.get(url), url)
        assert_sent_to_sign_in(client.post(url, data), url)

    assert stored(site_a) == before


# --- mistakes are explained, entries kept, nothing saved ----------------------------------------

EXCEPTION_MISTAKES = {
    # case: (form, entries: days from today for dates, field, message)
    "grant-expiring-yesterday": ("grant", {"expires_on": -1}, "expires_on",
                                 "The expiry must be after today."),
    "grant-expiring-today": ("grant", {"expires_on": 0}, "expires_on",
                             "The expiry must be after today."),
    "renew-until-yesterday": ("renew", {"expires_on": -1}, "expires_on",
                              "The expiry must be after today."),
    "renew-until-today": ("renew", {"expires_on": 0}, "expires_on",
                          "The expiry must be after today."),
    "renew-until-current-expiry": ("renew", {"expires_on": 10}, "expires_on",
                                   "A renewal must end after the current expiry, {expiry}."),
    "renew-shorter": ("renew", {"expires_on": 5}, "expires_on",
                      "A renewal must end after the current expiry, {expiry}."),
    "grant-kind-of-another-experiment": ("grant", {"kind": "atlas"}, "kind",
                                         "This is an exception kind of ATLAS, not of CMS."),
    "revoke-without-reason": ("revoke", {"reason": ""}, "reason", "This field is required."),
    # The short-term exception lasts at most 9 months, from its grant or renewal.
    "grant-beyond-the-kinds-limit": ("grant", {"expires_on": 300}, "expires_on",
                                     "“Short-term exception while deploying Singularity” lasts "
                                     "at most 9 months: it can run to {latest} at the latest."),
    "renew-beyond-the-kinds-limit": ("renew", {"expires_on": 300}, "expires_on",
                                     "“Short-term exception while deploying Singularity” lasts "
                                     "at most 9 months: it can run to {latest} at the latest."),
}


@pytest.mark.parametrize("case", EXCEPTION_MISTAKES)
def test_invalid_exception_entries_are_explained_on_the_field_and_nothing_is_saved(
        wendy, site_a, cms_exception, cms_kind, case):
    form, changes, field, message = EXCEPTION_MISTAKES[case]
    atlas = Experiment.objects.get(slug="atlas")
    atlas_kind = ExceptionKind.objects.create(
        experiment=atlas, slug="late-runtime", name="Late runtime", description="Test kind.",
        scenario=Scenario.objects.get(slug="transition-exception"))
    url, data = {
        "grant": (grant_url(site_a),
                  grant_entries(cms_kind, "Deploying Apptainer on the new cluster", 90)),
        "renew": (renew_url(cms_exception), {"expires_on": day(60).isoformat(),
                                             "reason": "The hardware is late"}),
        "revoke": (revoke_url(cms_exception), {"reason": "Apptainer is deployed"}),
    }[form]
    for name, value in changes.items():
        data[name] = (day(value).isoformat() if name == "expires_on"
                      else str(atlas_kind.pk) if value == "atlas" else value)
    page = wendy.get(url)
    assert page.status_code == 200
    before = stored(site_a)

    response = fill(page_form(page), data).submit()

    assert response.status_code == 200
    latest = day(0) + relativedelta(months=9)
    assert message.format(expiry=cms_exception.expires_on.isoformat(),
                          latest=f"{latest:%-d %B %Y}") in field_error(response, field)
    assert field in response.context["form"].errors
    kept = page_form(response)
    for name, value in data.items():
        assert kept[name].value == value, name
    assert stored(site_a) == before
    assert SiteException.objects.count() == 1


def test_a_standing_exception_is_not_offered_for_a_grant_and_is_refused(
        wendy, wg_member, site_a, cms_kind):
    # It applies by itself to every site of its kind: there is nothing to grant.
    standing = ExceptionKind.objects.get(slug="hpc-production-only")
    form = page_form(wendy.get(grant_url(site_a)))
    assert [value for value, _, _ in form["kind"].options] == ["", str(cms_kind.pk)]

    forged = {**grant_entries(cms_kind, "Deploying", 30), "kind": str(standing.pk)}
    response = signed_in(wg_member).post(grant_url(site_a), forged)

    assert response.status_code == 200
    assert "Select a valid choice" in field_error(response, "kind")
    assert not SiteException.objects.exists()


def test_a_grant_with_an_expiry_in_the_past_gets_only_the_message_that_applies(
        wendy, site_a, cms_kind):
    form = page_form(wendy.get(grant_url(site_a)))

    response = fill(form, grant_entries(cms_kind, "Deploying", -1)).submit()

    assert response.context["form"].errors["expires_on"] == ["The expiry must be after today."]


# --- granted, renewed, revoked, expired ---------------------------------------------------------

def test_granting_an_exception_makes_it_active_and_applies_its_scenario(
        wendy, site_a, cms_kind):
    assert scenario_of(site_a, "cms") == "not-isolated"
    page = wendy.get(grant_url(site_a))
    assert page.status_code == 200

    response = fill(page_form(page), grant_entries(
        cms_kind, "Deploying Apptainer by spring", 45)).submit().follow()

    exception = SiteException.objects.get(site=site_a)
    assert (exception.kind, exception.granted_by, exception.granted_on, exception.expires_on,
            exception.revoked_on) == (cms_kind, "Wendy Gee", day(0), day(45), None)
    assert SiteException.objects.active_on(day(0)).filter(pk=exception.pk).exists()
    assessment = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert (assessment.scenario.slug, assessment.exception) == ("transition-exception",
                                                                exception)
    text = page_text(response)
    assert f"{cms_kind.name} granted to SITE-A until {day(45)}." in text
    assert f"Deploying Apptainer by spring {day(0)} by Wendy Gee {day(45)} active" in text
    assert scenario_of(site_a, "atlas") == "no-network-no-credentials"


def test_renewing_an_exception_moves_its_expiry(wendy, site_a, cms_exception):
    form = page_form(wendy.get(renew_url(cms_exception)))

    response = fill(form, {"expires_on": day(100).isoformat(),
                           "reason": "The hardware is late"}).submit().follow()

    cms_exception.refresh_from_db()
    assert (cms_exception.expires_on, cms_exception.revoked_on) == (day(100), None)
    assert f"renewed until {day(100)}." in page_text(response)
    assessment = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert assessment.scenario.slug == "transition-exception"
    assert f"until {day(100)}" in assessment.reason


def test_revoking_an_exception_ends_it_and_the_rule_decides_again(
        wendy, site_a, cms_exception):
    assert scenario_of(site_a, "cms") == "transition-exception"
    form = page_form(wendy.get(revoke_url(cms_exception)))

    response = fill(form, {"reason": "Apptainer is deployed"}).submit().follow()

    cms_exception.refresh_from_db()
    assert cms_exception.revoked_on == day(0)
    assessment = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert (assessment.scenario.slug, assessment.exception) == ("not-isolated", None)
    assert assessment.reason.startswith("Rule 2 ")
    text = page_text(response)
    assert f"{cms_exception.kind.name} at SITE-A revoked." in text
    assert f"revoked {day(0)}" in text
    assert f'href="{revoke_url(cms_exception)}"' not in response.content.decode()


def test_an_exception_that_expired_yesterday_shows_expired_and_no_longer_applies(
        client, site_a, cms_kind):
    exception = grant(site_a, day(-30), day(0), reason="Deploying")
    assert scenario_of(site_a, "cms") == "transition-exception"  # its last day

    with time_machine.travel(timezone.now() + datetime.timedelta(days=1), tick=False):
        recompute()
        page = client.get(site_a.get_absolute_url())

    assessment = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert (assessment.scenario.slug, assessment.exception) == ("not-isolated", None)
    assert assessment.lapsed_exception == exception
    assert f"expired on {exception.expires_on} and no longer applies" in assessment.reason
    text = page_text(page)
    assert f"Deploying {day(-30)} by WG {day(0)} expired" in text
    assert "CMS Not isolated" in text
