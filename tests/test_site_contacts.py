"""Site contacts and WG members keep the sites current, driven through the test client as they
would drive it: signing in and out, the capability form (built from the definitions, checked,
previewed, saved, refused when someone else saved first), exceptions granted, renewed and
revoked, My sites, the change history, CSRF, and the dashboard behind a sign-in.

Personas: anonymous, Alice (contact of SITE-A, with a full name), Bob (contact of SITE-B, no
full name), Wendy (a WG member) and Sam (staff, nothing else)."""

from __future__ import annotations

import datetime
import html
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import Client
from django.utils import dateformat, timezone

from experiments.models import CapabilityDefinition, ExceptionKind, Experiment, Scenario
from sites.models import Assessment, AssessmentChange, CapabilityValue, Site, SiteException
from sites.recompute import recompute
from sites.updates import snapshot

from .factories import PASSWORD, make_site

SIGN_IN = "/accounts/login/"
LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"


# --- reading pages as a browser does ------------------------------------------------------------

class FormReader(HTMLParser):
    """The forms of a page: their attributes, their inputs, and what a browser would submit
    (text and hidden values, the checked radio, the selected option, the textarea's text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: "" if value is None else value for name, value in attrs}
        if tag == "form":
            self._form = {"attrs": attributes, "inputs": [], "values": {}}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        values, name = self._form["values"], attributes.get("name")
        if tag in ("input", "textarea", "select") and name:
            self._form["inputs"].append({"tag": tag, **attributes})
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in attributes:
                    values[name] = attributes.get("value", "on")
            elif kind not in ("submit", "button", "reset"):
                values[name] = attributes.get("value", "")
        elif tag == "textarea" and name:
            values[name], self._textarea = "", name
        elif tag == "select" and name:
            self._select, self._first_option = name, True
        elif tag == "option" and self._select:
            if self._first_option or "selected" in attributes:
                values[self._select] = attributes.get("value", "")
            self._first_option = False

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            text = self._form["values"][self._textarea] + data
            # A browser drops the newline that opens a textarea's content.
            self._form["values"][self._textarea] = text.removeprefix("\n")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def main_form(response) -> dict:
    """The page's own form, not the sign-out form in the header."""
    reader = FormReader()
    reader.feed(response.content.decode())
    forms = [form for form in reader.forms
             if form["attrs"].get("method") == "post" and "action" not in form["attrs"]]
    assert len(forms) == 1, [form["attrs"] for form in reader.forms]
    return forms[0]


def form_values(response) -> dict[str, str]:
    """What the page's form would submit as it stands."""
    return dict(main_form(response)["values"])


def page_text(response) -> str:
    """The page as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    content = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split())


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def history_rows(response) -> list[list[str]]:
    """The change history table, a list of cell texts per row, without the time column."""
    content = response.content.decode()
    start = content.index('<table class="table history">')
    table = content[start:content.index("</table>", start)]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return [[text_of(cell) for cell in cells[1:]] for cells in rows if cells]


def field_error(response, field: str) -> str:
    """The error paragraph under one field, as shown."""
    match = re.search(rf'<p class="error" id="id_{field}_error">(.*?)</p>',
                      response.content.decode(), re.S)
    return text_of(match.group(1)) if match else ""


def checked(response, name: str) -> str | None:
    """The value of the radio button checked for `name`, if any."""
    return form_values(response).get(name)


# --- the database, as far as a request may touch it ---------------------------------------------

def stored(site: Site) -> dict:
    """Everything a refused request must leave as it was: the site's values with who reported
    them and when, their history, its assessments and their changes, its exceptions and
    their history."""
    return {
        "values": sorted(CapabilityValue.objects.filter(site=site).values_list(
            "capability__key", "value", "reported_by", "source", "reported_at")),
        "value_history": CapabilityValue.history.filter(site_id=site.pk).count(),
        "assessments": sorted(Assessment.objects.filter(site=site).values_list(
            "experiment__slug", "scenario__slug", "exception", "reason")),
        "assessment_changes": AssessmentChange.objects.filter(site=site).count(),
        "exceptions": sorted(SiteException.objects.filter(site=site).values_list(
            "id", "kind", "reason", "granted_by", "granted_on", "expires_on", "revoked_on")),
        "exception_history": SiteException.history.filter(site_id=site.pk).count(),
    }


def values_of(site: Site) -> dict[str, str]:
    return dict(CapabilityValue.objects.filter(site=site)
                .values_list("capability__key", "value"))


def scenario_of(site: Site, experiment: str) -> str | None:
    return Assessment.objects.get(site=site, experiment__slug=experiment).scenario.slug


def day(offset: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=offset)


def capabilities_url(site: Site) -> str:
    return f"/sites/{site.name}/capabilities/"


def grant_url(site: Site) -> str:
    return f"/sites/{site.name}/exceptions/new/"


def renew_url(exception: SiteException) -> str:
    return f"/exceptions/{exception.pk}/renew/"


def revoke_url(exception: SiteException) -> str:
    return f"/exceptions/{exception.pk}/revoke/"


def assert_sent_to_sign_in(response, path: str) -> None:
    assert response.status_code == 302, response.status_code
    assert response.url == f"{SIGN_IN}?next={path}"


# --- personas and data --------------------------------------------------------------------------

def signed_in(user, **kwargs) -> Client:
    """A browser of its own, signed in as `user`."""
    browser = Client(**kwargs)
    browser.force_login(user)
    return browser


@pytest.fixture
def staff(django_user_model, db):
    """Staff status, no group, no site: the admin's door, and nothing behind it."""
    return django_user_model.objects.create_user("sam", "sam@cern.example.org", PASSWORD,
                                                 is_staff=True)


@pytest.fixture
def alice(contact_a) -> Client:
    return signed_in(contact_a)


@pytest.fixture
def bob(contact_b) -> Client:
    return signed_in(contact_b)


@pytest.fixture
def wendy(wg_member) -> Client:
    return signed_in(wg_member)


@pytest.fixture
def cms_kind(reference) -> ExceptionKind:
    return ExceptionKind.objects.get(experiment__slug="cms")


@pytest.fixture
def cms_exception(site_a, cms_kind) -> SiteException:
    """CMS's transition exception at SITE-A, granted by the WG 20 days ago, for 10 more days."""
    return SiteException.objects.create(
        site=site_a, experiment=cms_kind.experiment, kind=cms_kind,
        reason="Deploying Apptainer", granted_by="WG", granted_on=day(-20), expires_on=day(10))


def open_form(browser: Client, site: Site) -> dict[str, str]:
    """Open a site's capability form and return what it would submit untouched."""
    response = browser.get(capabilities_url(site))
    assert response.status_code == 200
    return form_values(response)


def valid_exception_posts(site: Site, exception: SiteException, kind: ExceptionKind
                          ) -> list[tuple[str, dict]]:
    """A grant, a renewal and a revocation that a WG member could make."""
    return [
        (grant_url(site), {"experiment": kind.experiment_id, "kind": kind.pk,
                           "reason": "Deploying Apptainer", "expires_on": day(90).isoformat()}),
        (renew_url(exception), {"expires_on": day(60).isoformat(), "reason": "Hardware late"}),
        (revoke_url(exception), {"reason": "Apptainer deployed"}),
    ]


# --- 1. who may do what -------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["preview", "save"])
def test_contact_cannot_preview_or_save_another_sites_capabilities(
        alice, site_a, site_b, action):
    before = stored(site_b)

    assert alice.get(capabilities_url(site_b)).status_code == 403
    response = alice.post(capabilities_url(site_b), {
        "snapshot": snapshot(site_b), "container_runtime": "none", "cvmfs": "no", action: "1"})

    assert response.status_code == 403
    assert stored(site_b) == before
    assert values_of(site_b)["container_runtime"] == "singularity"


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_sign_in_and_changes_nothing(client, site_a, method):
    before = stored(site_a)
    url = capabilities_url(site_a)
    data = {"snapshot": snapshot(site_a), "container_runtime": "apptainer", "save": "1"}

    response = getattr(client, method)(url, data if method == "post" else None)

    assert_sent_to_sign_in(response, url)
    assert stored(site_a) == before


def test_contact_edits_their_own_site(alice, contact_a, site_a):
    fields = open_form(alice, site_a)

    response = alice.post(capabilities_url(site_a),
                          {**fields, "container_runtime": "apptainer", "save": "1"})

    assert response.status_code == 302
    value = CapabilityValue.objects.get(site=site_a, capability__key="container_runtime")
    assert (value.value, value.reported_by) == ("apptainer", contact_a)


def test_wg_member_edits_any_site(wendy, wg_member, site_a, site_b):
    for site, runtime in ((site_a, "singularity"), (site_b, "apptainer")):
        fields = open_form(wendy, site)
        response = wendy.post(capabilities_url(site),
                              {**fields, "container_runtime": runtime, "save": "1"})
        assert response.status_code == 302
        value = CapabilityValue.objects.get(site=site, capability__key="container_runtime")
        assert (value.value, value.reported_by) == (runtime, wg_member)


def test_staff_status_alone_does_not_let_a_user_edit_a_site(staff, site_a):
    before = stored(site_a)
    sam = signed_in(staff)

    assert sam.get(capabilities_url(site_a)).status_code == 403
    assert sam.post(capabilities_url(site_a), {"snapshot": snapshot(site_a),
                                               "cvmfs": "no", "save": "1"}).status_code == 403
    assert stored(site_a) == before


@pytest.mark.parametrize("persona", ["contact_a", "contact_b", "staff"])
def test_only_wg_members_grant_renew_or_revoke_exceptions(
        request, persona, site_a, cms_exception, cms_kind):
    browser = signed_in(request.getfixturevalue(persona))
    before = stored(site_a)

    for url, data in valid_exception_posts(site_a, cms_exception, cms_kind):
        assert browser.get(url).status_code == 403, url
        assert browser.post(url, data).status_code == 403, url

    assert stored(site_a) == before
    assert SiteException.objects.count() == 1


def test_anonymous_exception_requests_are_sent_to_sign_in(client, site_a, cms_exception,
                                                          cms_kind):
    before = stored(site_a)

    for url, data in valid_exception_posts(site_a, cms_exception, cms_kind):
        assert_sent_to_sign_in(client.get(url), url)
        assert_sent_to_sign_in(client.post(url, data), url)

    assert stored(site_a) == before


@pytest.mark.parametrize(("persona", "updates", "manages"), [
    ("anonymous", False, False),
    ("contact_a", True, False),
    ("contact_b", False, False),
    ("staff", False, False),
    ("wg_member", True, True),
])
def test_site_page_offers_update_and_exception_buttons_only_to_those_allowed(
        request, client, site_a, cms_exception, persona, updates, manages):
    browser = client if persona == "anonymous" else signed_in(request.getfixturevalue(persona))

    content = browser.get(site_a.get_absolute_url()).content.decode()

    assert (f'href="{capabilities_url(site_a)}"' in content) is updates
    assert ("Update capabilities" in content) is updates
    assert (f'href="{grant_url(site_a)}"' in content) is manages
    assert ("Grant an exception" in content) is manages
    assert (f'href="{renew_url(cms_exception)}"' in content) is manages
    assert (f'href="{revoke_url(cms_exception)}"' in content) is manages


# --- 2. the form is built from the definitions --------------------------------------------------

def test_a_new_capability_definition_appears_in_the_form_and_can_be_saved(
        alice, contact_a, site_a):
    CapabilityDefinition.objects.create(
        key="gpus", name="GPUs for pilots", kind="yes_no", position=6,
        help_text="Whether pilots can claim GPUs on the worker nodes.")

    response = alice.get(capabilities_url(site_a))

    text = page_text(response)
    assert "GPUs for pilots" in text
    assert "Whether pilots can claim GPUs on the worker nodes." in text
    radios = [i["value"] for i in main_form(response)["inputs"]
              if i.get("name") == "gpus" and i.get("type") == "radio"]
    assert radios == ["yes", "no", ""]

    saved = alice.post(capabilities_url(site_a),
                       {**form_values(response), "gpus": "yes", "save": "1"}, follow=True)

    value = CapabilityValue.objects.get(site=site_a, capability__key="gpus")
    assert (value.value, value.reported_by, value.source) == ("yes", contact_a, "form")
    assert "Saved 1 change to SITE-A's capabilities." in page_text(saved)
    assert "GPUs for pilots yes" in page_text(saved)


def test_yes_no_and_choice_capabilities_are_radio_buttons_and_versions_a_text_input(
        alice, site_a):
    response = alice.get(capabilities_url(site_a))

    inputs = main_form(response)["inputs"]
    by_name: dict[str, list[dict]] = {}
    for element in inputs:
        by_name.setdefault(element["name"], []).append(element)
    assert [(i["type"], i["value"]) for i in by_name["container_runtime"]] == [
        ("radio", "none"), ("radio", "singularity"), ("radio", "apptainer"), ("radio", "")]
    for key in ("unprivileged_userns", "cvmfs", "outbound_network"):
        assert [(i["type"], i["value"]) for i in by_name[key]] == [
            ("radio", "yes"), ("radio", "no"), ("radio", "")], key
    [version] = by_name["container_runtime_version"]
    assert (version["tag"], version["type"]) == ("input", "text")
    # The form opens with what the site reported, “not reported” where it did not.
    assert {key: checked(response, key) for key in
            ("container_runtime", "unprivileged_userns", "cvmfs", "outbound_network")} == {
        "container_runtime": "none", "unprivileged_userns": "", "cvmfs": "yes",
        "outbound_network": "no"}
    assert 'name="save"' not in response.content.decode()  # preview first


# --- 3. mistakes are explained, entries kept, nothing saved -------------------------------------

@pytest.mark.parametrize("action", ["preview", "save"])
@pytest.mark.parametrize(("entries", "field", "message"), [
    pytest.param({"container_runtime": "docker"}, "container_runtime",
                 "Select a valid choice. docker is not one of the available choices.",
                 id="unknown-choice"),
    pytest.param({"container_runtime": "apptainer", "container_runtime_version": "three"},
                 "container_runtime_version", "is not a version number such as 3.7.1.",
                 id="malformed-version"),
    pytest.param({"cvmfs": "maybe"}, "cvmfs",
                 "Select a valid choice. maybe is not one of the available choices.",
                 id="yes-no-maybe"),
    pytest.param({"container_runtime": "none", "container_runtime_version": "3.8.7"},
                 "container_runtime_version",
                 "Container runtime version needs a container runtime: report the container "
                 "runtime or clear this field.", id="version-without-runtime"),
])
def test_invalid_capability_values_are_explained_on_the_field_and_nothing_is_saved(
        alice, site_a, entries, field, message, action):
    fields = open_form(alice, site_a)
    before = stored(site_a)

    response = alice.post(capabilities_url(site_a),
                          {**fields, "unprivileged_userns": "yes", **entries, action: "1"})

    assert response.status_code == 200
    assert message in field_error(response, field)
    assert set(response.context["form"].errors) == {field}
    # The entries stay: the other answer the user gave, and the text they typed.
    assert checked(response, "unprivileged_userns") == "yes"
    if "container_runtime_version" in entries:
        assert (form_values(response)["container_runtime_version"]
                == entries["container_runtime_version"])
    assert "What this would change" not in page_text(response)
    assert stored(site_a) == before


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
        "grant": (grant_url(site_a), {"experiment": str(cms_kind.experiment_id),
                                      "kind": str(cms_kind.pk),
                                      "reason": "Deploying Apptainer on the new cluster",
                                      "expires_on": day(90).isoformat()}),
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

    response = wendy.post(url, {**form_values(page), **data})

    assert response.status_code == 200
    assert message.format(expiry=cms_exception.expires_on.isoformat()) in field_error(
        response, field)
    assert field in response.context["form"].errors
    kept = form_values(response)
    for name, value in data.items():
        assert kept[name] == value, name
    assert stored(site_a) == before
    assert SiteException.objects.count() == 1


def test_a_grant_with_an_expiry_in_the_past_gets_only_the_message_that_applies(
        wendy, site_a, cms_kind):
    response = wendy.post(grant_url(site_a), {
        "experiment": cms_kind.experiment_id, "kind": cms_kind.pk, "reason": "Deploying",
        "expires_on": day(-1).isoformat()})

    assert response.context["form"].errors["expires_on"] == ["The expiry must be after today."]


# --- 4. preview -----------------------------------------------------------------------------

def test_preview_shows_each_experiments_scenario_before_and_after_and_saves_nothing(
        alice, site_a):
    fields = open_form(alice, site_a)
    before = stored(site_a)

    response = alice.post(capabilities_url(site_a), {
        **fields, "container_runtime": "apptainer", "container_runtime_version": "1.3.4",
        "preview": "1"})

    assert response.status_code == 200
    text = page_text(response)
    assert "What this would change" in text
    assert "CMS: Not isolated → Isolated in containers" in text
    assert "ATLAS: stays No network" in text
    assert "Nothing is saved until you press Save." in text
    assert {row["experiment"].slug: (row["before"].slug, row["after"].slug)
            for row in response.context["preview"]} == {
        "atlas": ("no-network-no-credentials", "no-network-no-credentials"),
        "cms": ("not-isolated", "containers-isolate-payloads"),
    }
    assert stored(site_a) == before
    assert scenario_of(site_a, "cms") == "not-isolated"
    # The entries stay, and now the page offers to save them.
    assert checked(response, "container_runtime") == "apptainer"
    assert form_values(response)["container_runtime_version"] == "1.3.4"
    assert 'name="save"' in response.content.decode()


# --- 5. save ------------------------------------------------------------------------------------

def test_save_stores_the_values_as_reported_by_the_user_and_reassesses_at_once(
        alice, contact_a, site_a):
    fields = open_form(alice, site_a)
    started = timezone.now()

    response = alice.post(capabilities_url(site_a), {
        **fields, "container_runtime": "apptainer", "container_runtime_version": "1.3.4",
        "save": "1"})

    assert response.status_code == 302
    assert response.url == "/sites/SITE-A/"
    values = CapabilityValue.objects.filter(site=site_a).select_related("capability")
    assert {v.capability.key: v.value for v in values} == {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4", "cvmfs": "yes",
        "outbound_network": "no"}
    for value in values:
        assert value.reported_by == contact_a
        assert value.source == CapabilityValue.Source.FORM
        assert value.reported_at >= started
    assert scenario_of(site_a, "cms") == "containers-isolate-payloads"
    assert scenario_of(site_a, "atlas") == "no-network-no-credentials"

    page = alice.get(response.url)
    text = page_text(page)
    assert ("Saved 2 changes to SITE-A's capabilities. CMS: Not isolated → Isolated in "
            "containers.") in text
    assert "CMS Isolated in containers Target" in text
    assert f"Container runtime apptainer {timezone.localdate():%Y-%m-%d} by Alice Able" in text


def test_clearing_a_value_withdraws_it(alice, site_a):
    fields = open_form(alice, site_a)

    response = alice.post(capabilities_url(site_a), {**fields, "cvmfs": "", "save": "1"},
                          follow=True)

    assert not CapabilityValue.objects.filter(site=site_a, capability__key="cvmfs").exists()
    assert values_of(site_a) == {"container_runtime": "none", "outbound_network": "no"}
    text = page_text(response)
    assert "Saved 1 change to SITE-A's capabilities. No assessment changed." in text
    assert "CVMFS not reported" in text
    assert ["Alice Able", "CVMFS deleted", "yes", "(removed)"] in history_rows(response)


def test_saving_unchanged_values_confirms_them(alice, contact_a, site_a):
    long_ago = timezone.now() - datetime.timedelta(days=200)
    CapabilityValue.objects.filter(site=site_a).update(reported_at=long_ago)
    assert "not confirmed for over 180 days" in page_text(alice.get("/me/"))
    fields = open_form(alice, site_a)
    started = timezone.now()

    response = alice.post(capabilities_url(site_a), {**fields, "save": "1"}, follow=True)

    assert ("Saved 0 changes to SITE-A's capabilities. No assessment changed."
            in page_text(response))
    values = CapabilityValue.objects.filter(site=site_a)
    assert {v.capability.key: v.value for v in values.select_related("capability")} == {
        "container_runtime": "none", "cvmfs": "yes", "outbound_network": "no"}
    for value in values:
        assert value.reported_at >= started
        assert value.reported_by == contact_a
    text = page_text(alice.get("/me/"))
    assert "not confirmed" not in text
    assert f"last confirmed {dateformat.format(timezone.localdate(), 'j M Y')}" in text


# --- 6. CSRF ------------------------------------------------------------------------------------

def test_capability_form_post_without_csrf_token_is_refused(contact_a, site_a):
    browser = signed_in(contact_a, enforce_csrf_checks=True)
    fields = open_form(browser, site_a)  # sets the CSRF cookie, as a browser would have it
    before = stored(site_a)
    data = {**fields, "container_runtime": "apptainer", "save": "1"}

    refused = browser.post(capabilities_url(site_a),
                           {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"})

    assert refused.status_code == 403
    assert stored(site_a) == before
    # With the page's token the same post goes through.
    assert browser.post(capabilities_url(site_a), data).status_code == 302
    assert values_of(site_a)["container_runtime"] == "apptainer"


def test_grant_form_post_without_csrf_token_is_refused(wg_member, site_a, cms_kind):
    browser = signed_in(wg_member, enforce_csrf_checks=True)
    page = browser.get(grant_url(site_a))
    data = {**form_values(page), "experiment": str(cms_kind.experiment_id),
            "kind": str(cms_kind.pk), "reason": "Deploying", "expires_on": day(30).isoformat()}

    refused = browser.post(grant_url(site_a),
                           {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"})

    assert refused.status_code == 403
    assert not SiteException.objects.exists()
    assert browser.post(grant_url(site_a), data).status_code == 302
    assert SiteException.objects.count() == 1


def test_sign_out_without_csrf_token_is_refused(contact_a, site_a):
    browser = signed_in(contact_a, enforce_csrf_checks=True)
    page = browser.get("/me/")
    token = re.search(r'action="/accounts/logout/">\s*<input type="hidden" '
                      r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())

    assert browser.post("/accounts/logout/").status_code == 403
    assert browser.get("/me/").status_code == 200  # still signed in
    assert browser.post("/accounts/logout/",
                        {"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    assert_sent_to_sign_in(browser.get("/me/"), "/me/")


def test_every_form_page_carries_a_csrf_token(client, alice, wendy, site_a, cms_exception):
    pages = [(alice, capabilities_url(site_a)), (wendy, capabilities_url(site_a)),
             (wendy, grant_url(site_a)), (wendy, renew_url(cms_exception)),
             (wendy, revoke_url(cms_exception)), (client, SIGN_IN),
             (client, "/accounts/password_reset/")]
    for browser, url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert form_values(response).get("csrfmiddlewaretoken"), url


# --- 7. history ---------------------------------------------------------------------------------

def test_accepted_saves_appear_in_the_site_history_and_recent_changes_with_who_and_values(
        client, alice, bob, site_a, site_b):
    alice.post(capabilities_url(site_a), {
        **open_form(alice, site_a), "container_runtime": "apptainer",
        "container_runtime_version": "1.3.4", "save": "1"})
    bob.post(capabilities_url(site_b), {
        **open_form(bob, site_b), "container_runtime_version": "3.11.5", "save": "1"})

    site_a_history = history_rows(client.get(site_a.get_absolute_url()))
    assert ["Alice Able", "Container runtime changed", "none", "apptainer"] in site_a_history
    assert ["Alice Able", "Container runtime version created", "—", "1.3.4"] in site_a_history
    assert not [row for row in site_a_history if row[0] == "bob"]
    site_b_history = history_rows(client.get(site_b.get_absolute_url()))
    assert ["bob", "Container runtime version changed", "3.8.7", "3.11.5"] in site_b_history

    changes = history_rows(client.get("/changes/"))
    assert ["Alice Able", "SITE-A", "Container runtime changed", "none", "apptainer"] in changes
    assert ["Alice Able", "SITE-A", "Container runtime version created", "—",
            "1.3.4"] in changes
    assert ["bob", "SITE-B", "Container runtime version changed", "3.8.7", "3.11.5"] in changes
    # Newest first: Bob saved after Alice.
    assert changes.index(["bob", "SITE-B", "Container runtime version changed", "3.8.7",
                          "3.11.5"]) < changes.index(
        ["Alice Able", "SITE-A", "Container runtime changed", "none", "apptainer"])


def test_refused_saves_add_no_history(client, alice, bob, wendy, site_a):
    fields = open_form(alice, site_a)
    records = CapabilityValue.history.filter(site_id=site_a.pk).count()
    shown = history_rows(client.get(site_a.get_absolute_url()))

    invalid = alice.post(capabilities_url(site_a),
                         {**fields, "container_runtime": "docker", "save": "1"})
    forbidden = bob.post(capabilities_url(site_a),
                         {**fields, "container_runtime": "apptainer", "save": "1"})
    assert (invalid.status_code, forbidden.status_code) == (200, 403)
    assert CapabilityValue.history.filter(site_id=site_a.pk).count() == records

    wendy.post(capabilities_url(site_a), {**open_form(wendy, site_a), "cvmfs": "no",
                                          "save": "1"})
    records = CapabilityValue.history.filter(site_id=site_a.pk).count()
    conflict = alice.post(capabilities_url(site_a),
                          {**fields, "container_runtime": "apptainer", "save": "1"})
    assert conflict.status_code == 200
    assert CapabilityValue.history.filter(site_id=site_a.pk).count() == records

    rows = history_rows(client.get(site_a.get_absolute_url()))
    assert [row for row in rows if row not in shown] == [
        ["Wendy Gee", "CVMFS changed", "yes", "no"]]


def test_grant_renew_and_revoke_appear_in_the_history_with_their_reasons(
        client, wendy, site_a, cms_kind):
    wendy.post(grant_url(site_a), {"experiment": cms_kind.experiment_id, "kind": cms_kind.pk,
                                   "reason": "Deploying Apptainer by spring",
                                   "expires_on": day(30).isoformat()})
    exception = SiteException.objects.get(site=site_a)
    wendy.post(renew_url(exception), {"expires_on": day(90).isoformat(),
                                      "reason": "The new nodes arrive late"})
    wendy.post(revoke_url(exception), {"reason": "Apptainer is deployed"})

    name = cms_kind.name
    expected = [
        ["Wendy Gee", "CMS exception changed Revoked by Wendy Gee: Apptainer is deployed",
         f"{name} until {day(90)}", f"{name} until {day(90)}, revoked on {day(0)}"],
        ["Wendy Gee", "CMS exception changed Renewed by Wendy Gee: The new nodes arrive late",
         f"{name} until {day(30)}", f"{name} until {day(90)}"],
        ["Wendy Gee", "CMS exception created Granted: Deploying Apptainer by spring", "—",
         f"{name} until {day(30)}"],
    ]
    rows = [row for row in history_rows(client.get(site_a.get_absolute_url()))
            if "CMS exception" in row[1]]
    assert rows == expected
    changes = [row[:1] + row[2:] for row in history_rows(client.get("/changes/"))
               if row[1:2] == ["SITE-A"] and "CMS exception" in row[2]]
    assert changes == expected


def test_confirmations_neither_show_as_changes_nor_push_real_changes_out_of_the_history(
        client, alice, site_a):
    alice.post(capabilities_url(site_a), {**open_form(alice, site_a), "cvmfs": "no",
                                          "save": "1"})
    for _ in range(34):  # every save confirms the site's three values: 102 history records
        assert alice.post(capabilities_url(site_a), {**open_form(alice, site_a),
                                                     "save": "1"}).status_code == 302

    rows = history_rows(client.get(site_a.get_absolute_url()))

    assert ["Alice Able", "CVMFS changed", "yes", "no"] in rows
    assert [row for row in rows if row[1].endswith(" changed") and row[2] == "—"] == []


# --- 8. two people edit the same site -----------------------------------------------------------

def test_a_save_after_someone_else_saved_is_refused_then_goes_through(
        alice, wendy, contact_a, wg_member, site_a):
    alice_form = open_form(alice, site_a)
    wendy_form = open_form(wendy, site_a)
    assert wendy.post(capabilities_url(site_a), {
        **wendy_form, "container_runtime": "singularity", "container_runtime_version": "3.8.7",
        "save": "1"}).status_code == 302
    before = stored(site_a)

    refused = alice.post(capabilities_url(site_a), {
        **alice_form, "container_runtime": "apptainer", "container_runtime_version": "1.3.4",
        "unprivileged_userns": "yes", "save": "1"})

    assert refused.status_code == 200
    text = page_text(refused)
    assert ("Someone else saved this site's capabilities after you opened the form. Your "
            "entries are kept below") in text
    assert "Changed since you opened the form" in text
    assert {(m.capability, m.was, m.now, m.by) for m in refused.context["meanwhile"]} == {
        ("Container runtime", "none", "singularity", "Wendy Gee"),
        ("Container runtime version", "not reported", "3.8.7", "Wendy Gee"),
        ("CVMFS", "yes", "yes (confirmed)", "Wendy Gee"),
        ("Outbound network", "no", "no (confirmed)", "Wendy Gee"),
    }
    assert "Container runtime none singularity Wendy Gee" in text
    assert "Container runtime version not reported 3.8.7 Wendy Gee" in text
    # Alice's entries are still in the form; the database holds Wendy's.
    entries = form_values(refused)
    assert (entries["container_runtime"], entries["container_runtime_version"],
            entries["unprivileged_userns"]) == ("apptainer", "1.3.4", "yes")
    assert entries["snapshot"] != alice_form["snapshot"]
    assert stored(site_a) == before
    runtime = CapabilityValue.objects.get(site=site_a, capability__key="container_runtime")
    assert (runtime.value, runtime.reported_by) == ("singularity", wg_member)

    again = alice.post(capabilities_url(site_a), {**entries, "save": "1"}, follow=True)

    assert "Saved 3 changes to SITE-A's capabilities." in page_text(again)
    assert values_of(site_a) == {
        "container_runtime": "apptainer", "container_runtime_version": "1.3.4",
        "unprivileged_userns": "yes", "cvmfs": "yes", "outbound_network": "no"}
    runtime.refresh_from_db()
    assert runtime.reported_by == contact_a


def test_a_confirmation_by_another_contact_also_refuses_a_stale_save(
        django_user_model, alice, site_a):
    carol = django_user_model.objects.create_user("carol", "carol@site-a.example.org", PASSWORD)
    site_a.contacts.add(carol)
    other = signed_in(carol)
    alice_form = open_form(alice, site_a)
    other.post(capabilities_url(site_a), {**open_form(other, site_a), "save": "1"})

    refused = alice.post(capabilities_url(site_a), {**alice_form, "cvmfs": "no", "save": "1"})

    assert refused.status_code == 200
    assert {(m.capability, m.now, m.by) for m in refused.context["meanwhile"]} == {
        ("Container runtime", "none (confirmed)", "carol"),
        ("CVMFS", "yes (confirmed)", "carol"),
        ("Outbound network", "no (confirmed)", "carol"),
    }
    assert values_of(site_a)["cvmfs"] == "yes"
    assert checked(refused, "cvmfs") == "no"


# --- 9. exceptions ------------------------------------------------------------------------------

def test_granting_an_exception_makes_it_active_and_applies_its_scenario(
        wendy, site_a, cms_kind):
    assert scenario_of(site_a, "cms") == "not-isolated"
    page = wendy.get(grant_url(site_a))
    assert page.status_code == 200

    response = wendy.post(grant_url(site_a), {
        **form_values(page), "experiment": str(cms_kind.experiment_id), "kind": str(cms_kind.pk),
        "reason": "Deploying Apptainer by spring", "expires_on": day(45).isoformat()},
        follow=True)

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
    response = wendy.post(renew_url(cms_exception), {"expires_on": day(100).isoformat(),
                                                     "reason": "The hardware is late"},
                          follow=True)

    cms_exception.refresh_from_db()
    assert (cms_exception.expires_on, cms_exception.revoked_on) == (day(100), None)
    assert f"renewed until {day(100)}." in page_text(response)
    assessment = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert assessment.scenario.slug == "transition-exception"
    assert f"until {day(100)}" in assessment.reason


def test_revoking_an_exception_ends_it_and_the_rule_decides_again(
        wendy, site_a, cms_exception):
    assert scenario_of(site_a, "cms") == "transition-exception"

    response = wendy.post(revoke_url(cms_exception), {"reason": "Apptainer is deployed"},
                          follow=True)

    cms_exception.refresh_from_db()
    assert cms_exception.revoked_on == day(0)
    assessment = Assessment.objects.get(site=site_a, experiment__slug="cms")
    assert (assessment.scenario.slug, assessment.exception) == ("not-isolated", None)
    assert assessment.reason.startswith("Rule 3 ")
    text = page_text(response)
    assert f"{cms_exception.kind.name} at SITE-A revoked." in text
    assert f"revoked {day(0)}" in text
    assert f'href="{revoke_url(cms_exception)}"' not in response.content.decode()


def test_an_exception_that_expired_yesterday_shows_expired_and_no_longer_applies(
        client, site_a, cms_kind):
    exception = SiteException.objects.create(
        site=site_a, experiment=cms_kind.experiment, kind=cms_kind, reason="Deploying",
        granted_by="WG", granted_on=day(-30), expires_on=day(0))
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


# --- 10. My sites -------------------------------------------------------------------------------

def my_site_cards(response) -> dict[str, str]:
    content = response.content.decode()
    """Each site's card on My sites, as text, by the site's name, in the page's order."""
    cards = re.findall(r'<section class="card my-site">(.*?)</section>', content, re.S)
    return {text_of(re.search(r"<h2>(.*?)</h2>", card, re.S).group(1)): text_of(card)
            for card in cards}


def test_my_sites_lists_exactly_the_contacts_sites_with_each_experiments_scenario(
        alice, contact_a, site_a, site_b):
    never = make_site("SITE-C", serves=("lhcb",))
    never.contacts.add(contact_a)

    response = alice.get("/me/")

    assert response.status_code == 200
    cards = my_site_cards(response)
    assert list(cards) == ["SITE-A", "SITE-C"]
    assert "ATLAS No network" in cards["SITE-A"]
    assert "CMS Not isolated" in cards["SITE-A"]
    assert "LHCb Not isolated" in cards["SITE-C"]
    assert f'href="{capabilities_url(site_a)}"' in response.content.decode()
    assert "SITE-B" not in page_text(response)


def test_my_sites_flags_stale_and_never_reported_sites(alice, contact_a, site_a, settings):
    settings.CAPABILITY_CONFIRM_DAYS = 30
    CapabilityValue.objects.filter(site=site_a).update(
        reported_at=timezone.now() - datetime.timedelta(days=31))
    fresh = make_site("SITE-D", serves=("cms",), container_runtime="apptainer")
    CapabilityValue.objects.filter(site=fresh).update(
        reported_at=timezone.now() - datetime.timedelta(days=29))
    never = make_site("SITE-C", serves=("lhcb",))
    for site in (fresh, never):
        site.contacts.add(contact_a)

    cards = my_site_cards(alice.get("/me/"))

    assert "not confirmed for over 30 days" in cards["SITE-A"]
    assert "never reported" not in cards["SITE-A"]
    assert "never reported" in cards["SITE-C"]
    assert "not confirmed" not in cards["SITE-D"]
    assert "last confirmed" in cards["SITE-D"]


def test_my_sites_lists_the_contacts_exceptions_expiring_within_30_days(
        alice, site_a, site_b, cms_kind):
    def grant(site, expires, granted=-60):
        return SiteException.objects.create(
            site=site, experiment=cms_kind.experiment, kind=cms_kind, reason="Deploying",
            granted_by="WG", granted_on=day(granted), expires_on=day(expires))

    grant(site_a, 12)  # soon: listed
    grant(site_a, 45, granted=-59)  # later
    grant(site_a, -2, granted=-58)  # expired
    grant(site_b, 5)  # not Alice's site

    response = alice.get("/me/")

    assert [(e.site.name, e.expires_on) for e in response.context["expiring"]] == [
        ("SITE-A", day(12))]
    text = page_text(response)
    assert (f"Exceptions expiring within 30 days SITE-A : CMS — {cms_kind.name}, expires "
            f"{dateformat.format(day(12), 'j M Y')}") in text
    assert "SITE-B" not in text


def test_my_sites_needs_sign_in(client, db):
    assert_sent_to_sign_in(client.get("/me/"), "/me/")


# --- 11. signing in and out, and a forgotten password -------------------------------------------

def test_signing_in_with_the_right_password_leads_to_my_sites(client, contact_a, site_a):
    page = client.get(SIGN_IN)

    response = client.post(SIGN_IN, {**form_values(page), "username": "alice",
                                      "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == "/me/"
    assert "SITE-A" in page_text(client.get("/me/"))


def test_signing_in_from_a_page_that_needs_it_returns_to_that_page(client, contact_a, site_a):
    url = capabilities_url(site_a)
    page = client.get(client.get(url).url)

    response = client.post(page.request["PATH_INFO"] + "?" + page.request["QUERY_STRING"], {
        **form_values(page), "username": "alice", "password": PASSWORD})

    assert (response.status_code, response.url) == (302, url)
    assert client.get(url).status_code == 200


def test_a_wrong_password_is_explained_and_keeps_the_username(client, contact_a):
    page = client.get(SIGN_IN)

    response = client.post(SIGN_IN, {**form_values(page), "username": "alice",
                                      "password": "not the password"})

    assert response.status_code == 200
    assert "Please enter a correct username and password." in page_text(response)
    assert form_values(response)["username"] == "alice"
    assert form_values(response)["password"] == ""
    assert_sent_to_sign_in(client.get("/me/"), "/me/")


def test_signing_out_by_post(alice):
    assert alice.get("/me/").status_code == 200
    assert alice.get("/accounts/logout/").status_code == 405  # a link cannot sign you out
    assert alice.get("/me/").status_code == 200

    response = alice.post("/accounts/logout/")

    assert response.status_code == 302
    assert response.url == "/"
    assert_sent_to_sign_in(alice.get("/me/"), "/me/")


def test_a_forgotten_password_is_reset_through_a_mailed_link(client, contact_a, mailoutbox):
    page = client.get("/accounts/password_reset/")
    response = client.post("/accounts/password_reset/",
                           {**form_values(page), "email": "alice@site-a.example.org"})
    assert response.status_code == 302
    assert response.url == "/accounts/password_reset/done/"

    [mail] = mailoutbox
    assert mail.to == ["alice@site-a.example.org"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/\S+/)", mail.body).group(1)
    set_password = client.get(link, follow=True)
    assert set_password.status_code == 200
    assert "Choose a new password" in page_text(set_password)
    new_password = "apptainer everywhere by spring"
    done = client.post(set_password.redirect_chain[-1][0], {
        **form_values(set_password), "new_password1": new_password,
        "new_password2": new_password}, follow=True)
    assert "Password set" in page_text(done)

    assert client.post(SIGN_IN, {"username": "alice", "password": PASSWORD}).status_code == 200
    signed = client.post(SIGN_IN, {"username": "alice", "password": new_password})
    assert (signed.status_code, signed.url) == (302, "/me/")


def test_a_used_password_reset_link_says_so(client, contact_a, mailoutbox):
    client.post("/accounts/password_reset/", {"email": "alice@site-a.example.org"})
    link = re.search(r"http://testserver(/accounts/reset/\S+/\S+/)",
                     mailoutbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "apptainer everywhere 7",
                                                  "new_password2": "apptainer everywhere 7"})
    browser = Client(raise_request_exception=False)

    used = browser.get(link, follow=True)

    assert used.status_code == 200
    assert "This link has expired or was used already." in page_text(used)


# --- 12. the dashboard behind a sign-in ---------------------------------------------------------

def test_read_requires_login_sends_anonymous_readers_to_sign_in(settings, site_a, contact_a):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        LOGIN_REQUIRED)
    settings.MIDDLEWARE = middleware
    anonymous = Client()

    for url in ("/", "/sites/", site_a.get_absolute_url(), "/changes/", "/scenarios/"):
        assert_sent_to_sign_in(anonymous.get(url), url)
    assert anonymous.get(SIGN_IN).status_code == 200
    assert anonymous.get("/accounts/password_reset/").status_code == 200
    signed = anonymous.post(SIGN_IN, {"username": "alice", "password": PASSWORD})
    assert (signed.status_code, signed.url) == (302, "/me/")
    for url in ("/", "/sites/", site_a.get_absolute_url()):
        assert anonymous.get(url).status_code == 200, url
