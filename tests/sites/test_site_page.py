"""A site's page: each experiment's assessment with its reason, the capabilities the site
reported, its names in the experiments, and the buttons to update it or manage its exceptions
for those allowed to."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from experiments.models import CapabilityDefinition
from sites.models import Assessment, CapabilityValue, ExperimentSite, Site

from ..helpers import capabilities_url, get_ok, grant_url, renew_url, revoke_url, signed_in


def test_site_page_shows_each_experiments_reason_and_the_illustrative_capabilities(
        client, demo):
    content = get_ok(client, "/sites/FZK-LCG2/").content.decode()

    fzk = Site.objects.get(name="FZK-LCG2")
    assert "<h1>FZK-LCG2</h1>" in content
    assert fzk.institute in content
    assessments = Assessment.objects.filter(site=fzk).select_related("experiment", "scenario")
    assert assessments.count() >= 2
    for assessment in assessments:
        assert f">{assessment.experiment.name}</a></th>" in content
        assert f'<td class="reason">{escape(assessment.reason)}<' in content
        if assessment.scenario:
            assert escape(assessment.scenario.short_name) in content
    values = CapabilityValue.objects.filter(site=fzk)
    assert values.exists()
    for value in values:
        assert (f"<strong>{value.value}</strong> <span class=\"tag\" "
                f"title=\"Invented for the demo\">illustrative</span>") in content
    if values.count() < CapabilityDefinition.objects.count():
        assert "not reported" in content
    for name in ExperimentSite.objects.filter(site=fzk):
        assert f"<code>{name.name}</code>" in content
    assert "<strong>Illustrative data.</strong>" in content  # the banner


@pytest.mark.parametrize(("persona", "updates", "manages"), [
    ("anonymous", False, False),
    ("contact_a", True, False),
    ("contact_b", False, False),
    ("staff", False, False),
    ("wg_member", True, True),
])
def test_site_page_offers_update_and_exception_buttons_only_to_those_allowed(
        request, client, site_a, cms_exception, persona, updates, manages):
    visitor = client if persona == "anonymous" else signed_in(request.getfixturevalue(persona))

    content = visitor.get(site_a.get_absolute_url()).content.decode()

    assert (f'href="{capabilities_url(site_a)}"' in content) is updates
    assert ("Update capabilities" in content) is updates
    assert (f'href="{grant_url(site_a)}"' in content) is manages
    assert ("Grant an exception" in content) is manages
    assert (f'href="{renew_url(cms_exception)}"' in content) is manages
    assert (f'href="{revoke_url(cms_exception)}"' in content) is manages


@pytest.mark.parametrize("url", ["/sites/%00/", "/sites/A%00B/capabilities/",
                                 "/sites/A%00B/exceptions/new/", "/sites/%00/tokens/",
                                 "/api/sites/%00/", "/api/sites/A%00B/capabilities/"])
def test_a_nul_byte_in_a_site_name_is_not_found(client, wg_member, url):
    client.force_login(wg_member)
    assert client.get(url).status_code == 404
