"""GOCDB's public site queries, in both of their forms. `get_site_list` gives each site as
attributes:

    <results>
      <SITE ID="11" PRIMARY_KEY="523G0" NAME="BERNUNI-GRID" COUNTRY="Switzerland"
            COUNTRY_CODE="CH" ROC="NGI_CH" CERTIFICATION_STATUS="Certified" .../>
    </results>

`get_site` gives the same as child elements (`<SHORT_NAME>`, `<COUNTRY>`, `<COUNTRY_CODE>`,
`<CERTIFICATION_STATUS>`, ...), and, paged, ends each page with a link to the next one:
`<meta><link rel="next" href="..."/></meta>`. `read` follows those links to the last page.

GOCDB knows the EGI sites, their countries and certification, but no WLCG tiers, federations
or experiment names: it fills in the sites CRIC does not cover and their countries.
"""

from __future__ import annotations

from urllib.parse import urljoin

from defusedxml import DefusedXmlException, ElementTree

from . import Parsed, SiteRecord, Source, SourceError, blank_if_missing, read_text, shown

SOURCE = Source(label="GOCDB", fields=("country", "country_code"), federations=False,
                names=False)

# Each value as an attribute (get_site_list) or a child element (get_site); the name is the
# site's short name in the latter.
NAME = ("NAME", "SHORT_NAME")
REQUIRED = ("COUNTRY", "COUNTRY_CODE")
CLOSED = "Closed"  # a certification status: GOCDB keeps closed sites for its own records
MAX_PAGES = 1000  # far more than GOCDB's few hundred sites take; a loop of links stops here


def read(location: str) -> Parsed:
    """The records of GOCDB's answer at a path or URL, every page of it."""
    parsed = Parsed(records=[])
    seen = set()
    while location:
        if location in seen or len(seen) == MAX_PAGES:
            raise SourceError(f"GOCDB's pages do not end: {shown(location)} again or after "
                              f"{MAX_PAGES} pages")
        seen.add(location)
        page = parse(read_text(location))
        parsed.records += page.records
        parsed.skipped += page.skipped
        # A relative link is relative to the page that gives it.
        location = urljoin(location, page.next_page) if page.next_page else ""
    return parsed


def parse(text: str) -> Parsed:
    """Records of the sites on one page of GOCDB's answer, less the closed ones, and the link
    to its next page; SourceError, naming the record, for anything malformed."""
    try:
        # defusedxml: the file may come from anywhere, and refuses entity expansion bombs.
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise SourceError(f"GOCDB data is not valid XML: {error}") from error
    except DefusedXmlException as error:
        raise SourceError(f"GOCDB data refused: {error!r}") from error
    if root.tag != "results":
        raise SourceError(f"GOCDB data is not a site list: its root is <{root.tag}>, "
                          "not <results>")
    parsed = Parsed(records=[])
    for position, element in enumerate(root.findall("SITE"), 1):
        record = _site(element, position)
        if _value(element, "CERTIFICATION_STATUS") == CLOSED:
            parsed.skipped.append(f"Skipped {record.name}: closed in GOCDB")
            continue
        parsed.records.append(record)
    for link in root.iterfind("meta/link"):
        if link.get("rel") == "next" and link.get("href"):
            parsed.next_page = link.get("href").strip()
    return parsed


def _value(element, name: str) -> str | None:
    """The value of an attribute, or else of a child element; None where neither is."""
    if name in element.attrib:
        return element.get(name)
    child = element.find(name)
    return None if child is None else (child.text or "")


def _site(element, position: int) -> SiteRecord:
    name = ""
    for field in NAME:
        name = blank_if_missing(_value(element, field))
        if name:
            break
    where = f"GOCDB record {shown(name)}" if name else f"GOCDB record #{position}"
    # A site without a name cannot be matched; one without a country may have an empty one.
    missing = [] if name else ["NAME"]
    missing += [field for field in REQUIRED if _value(element, field) is None]
    if missing:
        listed = ", ".join(f'"{field}"' for field in missing)
        raise SourceError(f"{where}: missing {listed} (as attributes or child elements)")
    return SiteRecord(name=name, country=blank_if_missing(_value(element, "COUNTRY")),
                      country_code=blank_if_missing(_value(element, "COUNTRY_CODE")))
