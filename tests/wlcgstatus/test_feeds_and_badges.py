"""Where WLCG already looks: Atom feeds of the recorded changes, read with a feed parser, and
status badges for wiki pages, read as SVG."""

import datetime
from xml.etree import ElementTree

import feedparser
import pytest
from django.utils import timezone

from experiments.models import Compliance

from ..factories.exceptions import grant
from ..factories.sites import make_site, reported_on
from ..helpers import browser, day, history_rows, save_capabilities, soup

SVG = "{http://www.w3.org/2000/svg}"


def read_feed(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception  # well-formed Atom
    return feed


def feed_links(response) -> list[str]:
    return [link["href"] for link in
            soup(response).select('link[rel="alternate"][type="application/atom+xml"]')]


# --- feeds -------------------------------------------------------------------------------------

def test_a_saved_report_reaches_the_site_and_wg_feeds_with_what_it_did_to_the_scenarios(
        client, site_a, contact_a):
    save_capabilities(browser(contact_a), site_a, {"container_runtime": "apptainer",
                                                   "container_runtime_version": "1.3.4"})

    site_page = client.get(site_a.get_absolute_url())
    assert feed_links(site_page) == ["/sites/SITE-A/feed/"]
    feed = read_feed(client, "/sites/SITE-A/feed/")
    assert feed.feed.title == "WLCG isolation status: SITE-A changes"
    titles = [entry.title for entry in feed.entries]
    assert "SITE-A: Container runtime: none → apptainer" in titles
    assert "SITE-A: Container runtime version: 1.3.4" in titles
    # What the policy engine concluded from it, with its reason.
    scenario = next(entry for entry in feed.entries
                    if entry.title == "SITE-A: CMS scenario: Not isolated → Isolated in containers")
    assert "Why: " in scenario.summary and "apptainer" in scenario.summary.lower()
    assert scenario.author == "policy"
    by_alice = next(entry for entry in feed.entries
                    if entry.title == "SITE-A: Container runtime: none → apptainer")
    assert by_alice.author == "Alice Able"
    assert by_alice.link == "http://testserver/sites/SITE-A/"
    # The same entries, in the same order, as the site's history page.
    assert len(feed.entries) == len(history_rows(client.get("/sites/SITE-A/history/")))

    wg = read_feed(client, "/changes/feed/")
    assert feed_links(client.get("/changes/")) == ["/changes/feed/"]
    assert [entry.title for entry in wg.entries][:len(titles)] == titles  # newest first
    assert all(entry.id.startswith("tag:") for entry in wg.entries)  # URIs, as Atom wants
    assert len({entry.id for entry in wg.entries}) == len(wg.entries)
    again = read_feed(client, "/changes/feed/")
    assert [entry.id for entry in again.entries] == [entry.id for entry in wg.entries]


def test_an_experiments_feed_holds_its_own_changes_only(client, site_a, site_b):
    grant(site_a, day(-1), day(60), reason="Deploying Apptainer")  # a CMS exception

    cms_page = client.get("/experiments/cms/")
    assert "/experiments/cms/feed/" in feed_links(cms_page)
    cms = read_feed(client, "/experiments/cms/feed/")
    titles = [entry.title for entry in cms.entries]
    assert any(title.startswith("SITE-A: CMS exception: ") for title in titles)
    assert any(title.startswith("SITE-A: CMS scenario: ") for title in titles)
    assert not any("ATLAS" in title for title in titles)
    atlas = [entry.title for entry in read_feed(client, "/experiments/atlas/feed/").entries]
    assert any(title.startswith("SITE-A: ATLAS scenario: ") for title in atlas)
    assert not any("CMS" in title for title in atlas)
    assert client.get("/experiments/nothing/feed/").status_code == 404
    assert client.get("/sites/NO-SUCH-SITE/feed/").status_code == 404


# --- badges ------------------------------------------------------------------------------------

def read_badge(client, url: str) -> tuple[list[str], list[str], object]:
    """The badge's texts and fills, and the response."""
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(response.content)  # well-formed XML
    assert svg.tag == f"{SVG}svg"
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert svg.find(f"{SVG}title").text == ": ".join(texts)
    return texts, [rect.get("fill") for rect in svg.iter(f"{SVG}rect") if rect.get("fill")], \
        response


def test_a_site_badge_shows_its_scenario_in_its_class_colour_and_caches(client, site_a, site_b):
    texts, fills, response = read_badge(client, "/sites/SITE-B/badges/cms.svg")
    assert texts == ["CMS", "Isolated in containers"]
    assert fills[-1] == Compliance.TARGET.colour
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    unchanged = client.get("/sites/SITE-B/badges/cms.svg", HTTP_IF_NONE_MATCH=response["ETag"])
    assert unchanged.status_code == 304

    texts, fills, _ = read_badge(client, "/sites/SITE-A/badges/cms.svg")
    assert texts == ["CMS", "Not isolated"]
    assert fills[-1] == Compliance.NON_COMPLIANT.colour
    assert client.get("/sites/SITE-B/badges/atlas.svg").status_code == 404  # not served


def test_a_site_badge_says_unknown_and_stale_as_such(client, reference):
    make_site("SILENT", serves=("cms",))
    texts, fills, _ = read_badge(client, "/sites/SILENT/badges/cms.svg")
    assert (texts, fills[-1]) == (["CMS", "Unknown"], Compliance.UNKNOWN.colour)

    old = make_site("OLD-REPORT", serves=("cms",), container_runtime="none", cvmfs="yes")
    reported_on(old, timezone.now() - datetime.timedelta(days=400))
    texts, _, _ = read_badge(client, "/sites/OLD-REPORT/badges/cms.svg")
    assert texts == ["CMS", "Not isolated · stale"]


def test_an_experiment_badge_shows_its_share_of_target_sites(client, site_a, site_b):
    texts, fills, _ = read_badge(client, "/experiments/cms/badge.svg")
    assert texts == ["CMS", "50% target"]  # SITE-B of SITE-A and SITE-B
    assert fills[-1] == Compliance.TARGET.colour
    assert read_badge(client, "/experiments/atlas/badge.svg")[0] == ["ATLAS", "0% target"]


@pytest.mark.parametrize(("page", "badge"), [
    ("/sites/SITE-B/", "/sites/SITE-B/badges/cms.svg"),
    ("/experiments/cms/", "/experiments/cms/badge.svg"),
])
def test_pages_offer_their_badges_with_a_snippet_to_paste(client, site_b, settings, page, badge):
    settings.SITE_URL = "https://wlcgstatus.example.org"
    html = soup(client.get(page))
    snippets = html.select(".badge-snippet")
    assert snippets
    snippet = next(s for s in snippets if s.img["src"] == badge)
    markdown, html_snippet = (field["value"] for field in snippet.select("input"))
    assert f"(https://wlcgstatus.example.org{badge})" in markdown
    assert markdown.endswith(f"](https://wlcgstatus.example.org{page})")
    assert f'<img src="https://wlcgstatus.example.org{badge}"' in html_snippet
    assert client.get(badge).status_code == 200
