"""Every page the URL configuration serves, with the arguments that reach it: what the
benchmark times and the query-count tests pin. Taken from the URL configuration itself, so
that a new page is measured without anyone adding it: a URL is either a page here or named in
NOT_PAGES with the reason."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from experiments.models import Experiment, Migration, Scenario
from sites.models import Site, SiteException
from sites.recompute import policy_of

from .models import Report

# The URLs that are no page to measure, and why. The admin is measured by its peer, the
# change list of sites (ADMIN_PEER).
NOT_PAGES = {
    "sites:revoke_token": "a POST only",
    "reports:report_request": "a POST only",
    "reports:report_retry": "a POST only",
    "api:site-capabilities": "a POST only: a site's report, with its token",
    "logout": "a POST only",
    "reports:report_download": "the file a report task made: its making is the report's time",
    "password_reset_confirm": "a one-time link, which redirects to its form at once",
}
ADMIN_PEER = ("admin change list of sites (peer)", "/admin/sites/site/")
# Pages that are one URL with other query strings: the sites table filtered, sorted by a
# scenario and exported, the changes of a period.
VARIANTS = {
    "sites:site_list": ["?experiment=cms&compliance=non_compliant&tier=2&tier=3&sort=-name",
                        "?sort=scenario_cms&cap_cvmfs=yes&stale=10", "?_export=csv"],
    "changes": ["?since=2026-01-01"],
}
# Every page that shows the status as of a past day is also measured as of one, this many
# days ago (and the sites table filtered and sorted so too): named "<page>?as_of".
AS_OF_DAYS_AGO = 90
AS_OF_VARIANTS = {
    "sites:site_list": ["&experiment=cms&compliance=non_compliant&sort=-scenario_cms"],
}


@dataclass(frozen=True)
class Page:
    name: str  # the URL's name, with its namespace: "sites:site_detail"
    url: str

    @property
    def app(self) -> str:
        """The app whose query-count table pins the page: the sites app for its namespace,
        the project for every other page."""
        return "sites" if self.name.startswith("sites:") else "wlcgstatus"


def url_names() -> Iterator[tuple[str, list[str], Callable]]:
    """Each URL's name, the names of its arguments and its view, outside the admin."""
    def walk(patterns, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield (f"{namespace}{pattern.name}", list(pattern.pattern.regex.groupindex),
                       pattern.callback)
    yield from walk(get_resolver().url_patterns, "")


def shows_past_days(view: Callable) -> bool:
    """Whether a URL's view shows the status as of a past day (`?as_of=`): a view function
    (sites/as_of.py's decorator), a class-based view or a DRF view set's list marked so."""
    if hasattr(view, "cls"):  # a DRF view set's action
        return getattr(view.cls, "shows_past_days", False) and "list" in view.actions.values()
    return getattr(view, "shows_past_days", False) or getattr(
        getattr(view, "view_class", None), "shows_past_days", False)


def pages(site: Site, user) -> list[Page]:
    """Every page, for `site` (a site serving CMS and an experiment with a migration recorded
    by hand, with an exception granted) and the objects the database holds; a report of
    `user`'s is made if there is none."""
    arguments = _arguments(site, user)
    found, past = [], []
    for name, argument_names, view in url_names():
        if name in NOT_PAGES:
            continue
        page = Page(name, reverse(name, kwargs={argument: arguments[name, argument]
                                                if (name, argument) in arguments
                                                else arguments[argument]
                                                for argument in argument_names}))
        found.append(page)
        if shows_past_days(view):
            day = timezone.localdate() - datetime.timedelta(days=AS_OF_DAYS_AGO)
            past += [Page(f"{name}?as_of{query}", f"{page.url}?as_of={day}{query}")
                     for query in ["", *AS_OF_VARIANTS.get(name, ())]]
    variants = [Page(f"{page.name}{query}", f"{page.url}{query}")
                for page in found for query in VARIANTS.get(page.name, ())]
    return [*found, *variants, *past, Page(*ADMIN_PEER)]


def _arguments(site: Site, user) -> dict:
    """Arguments by name, and by (URL name, argument name) where a name means another thing
    there (a `slug` is an experiment's, a migration's or a scenario's)."""
    cms = Experiment.objects.get(slug="cms")
    migration = Migration.objects.filter(experiment=cms).order_by("slug").first()
    # A migration recorded by hand, of an experiment the site serves: one WG members record.
    by_hand = next(migration for migration in Migration.objects.filter(
        experiment__experiment_sites__site=site).distinct().select_related("experiment")
        .prefetch_related("steps__done_in").order_by("slug") if not migration.derived)
    policy_of([cms.id])  # records CMS's first policy revision, if none is yet
    report, _ = Report.objects.get_or_create(
        as_of=timezone.localdate(), requested_by=user, defaults={"format": Report.Format.PDF})
    return {
        "name": site.name,
        "slug": cms.slug,
        "experiment": cms.slug,
        "pk": SiteException.objects.filter(site=site).first().pk,
        ("migration_detail", "slug"): migration.slug,
        ("policy:migration", "migration"): migration.slug,
        ("sites:record_progress", "experiment"): by_hand.experiment.slug,
        ("sites:record_progress", "slug"): by_hand.slug,
        ("api:scenario-detail", "slug"): Scenario.objects.order_by("slug").first().slug,
        ("policy:scenario", "slug"): Scenario.objects.order_by("slug").first().slug,
        "position": 1,
        "kind": cms.exception_kinds.order_by("slug").first().slug,
        "number": cms.revisions.first().number,
        ("reports:report_detail", "pk"): report.pk,
        ("reports:report_status", "pk"): report.pk,
    }
