"""Atom feeds of the recorded changes, for feed readers and mail digests: WG-wide, per
experiment and per site, with the entries and wording of /changes/ and the site pages'
history (sites.history), newest first."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import slugify

from experiments.models import Experiment
from sites.cache import cached
from sites.history import CHANGED, CREATED, Change, all_changes, site_history
from sites.models import Site

ENTRIES = 50


class ChangesFeed(Feed):
    """Every change WG-wide."""

    feed_type = Atom1Feed
    title = "WLCG isolation status: changes"
    subtitle = ("Changes to sites, their capabilities, exceptions and scenarios, and to the "
                "WG's plans and policies.")
    description_template = "wlcgstatus/feed_entry.html"

    def link(self, scope=None) -> str:
        return reverse("changes")

    def items(self, scope=None) -> list[Change]:
        return cached(f"feed:wg:{timezone.localdate()}", lambda: all_changes(limit=ENTRIES))

    def item_title(self, change: Change) -> str:
        where = f"{change.site}: " if change.site else ""
        if change.action == CHANGED:
            return f"{where}{change.subject}: {change.old or '—'} → {change.new or '(removed)'}"
        if change.action == CREATED:
            return f"{where}{change.subject}: {change.new or '—'}"
        return f"{where}{change.subject} removed (was {change.old or '—'})"

    def item_link(self, change: Change) -> str:
        if change.site:
            return reverse("sites:site_detail", args=[change.site])
        return reverse("changes")

    def item_guid(self, change: Change) -> str:
        # A tag URI (RFC 4151), the same at every request: readers show each change once.
        return (f"tag:{urlsplit(settings.SITE_URL).hostname},{change.when:%Y-%m-%d}:"
                f"{self.item_link(change)}{change.when:%H%M%S.%f}/{slugify(change.subject)}")

    item_guid_is_permalink = False

    def item_updateddate(self, change: Change):
        return change.when

    def item_pubdate(self, change: Change):
        return change.when

    def item_author_name(self, change: Change) -> str:
        return change.who


class ExperimentFeed(ChangesFeed):
    """What changed about one experiment: its sites' scenarios, names, exceptions and
    migrations, its plan and its policy."""

    def get_object(self, request, slug: str) -> Experiment:
        return get_object_or_404(Experiment, slug=slug)

    def title(self, experiment: Experiment) -> str:
        return f"WLCG isolation status: {experiment.name} changes"

    def subtitle(self, experiment: Experiment) -> str:
        return (f"Changes to {experiment.name}'s sites' scenarios, names, exceptions and "
                f"migrations, and to its plan and policy.")

    def link(self, experiment: Experiment) -> str:
        return experiment.get_absolute_url()

    def items(self, experiment: Experiment) -> list[Change]:
        return cached(f"feed:experiment:{experiment.pk}:{timezone.localdate()}",
                      lambda: all_changes(limit=ENTRIES, experiment=experiment))


class SiteFeed(ChangesFeed):
    """What changed at one site: its record, what it reported, its exceptions, migrations
    and scenarios."""

    def get_object(self, request, name: str) -> Site:
        return get_object_or_404(Site, name=name)

    def title(self, site: Site) -> str:
        return f"WLCG isolation status: {site.name} changes"

    def subtitle(self, site: Site) -> str:
        return (f"Changes to {site.name}, its capabilities, exceptions, migrations and "
                f"scenarios.")

    def link(self, site: Site) -> str:
        return site.get_absolute_url()

    def items(self, site: Site) -> list[Change]:
        return cached(f"feed:site:{site.pk}:{timezone.localdate()}",
                      lambda: site_history(site, limit=ENTRIES))
