"""GOCDB's public site list, `/gocdbpi/public/?method=get_site_list`:

    <results>
      <SITE ID="11" PRIMARY_KEY="523G0" NAME="BERNUNI-GRID" COUNTRY="Switzerland"
            COUNTRY_CODE="CH" ROC="NGI_CH" SUBGRID="" GIIS_URL="..."
            PRODUCTION_INFRASTRUCTURE="Production" CERTIFICATION_STATUS="Certified"/>
    </results>

GOCDB knows the EGI sites, their countries and certification, but no WLCG tiers, federations
or experiment names: it fills in the sites CRIC does not cover and their countries.
"""

from __future__ import annotations

from defusedxml import DefusedXmlException, ElementTree

from . import Parsed, SiteRecord, Source, SourceError

# Not complete: GOCDB lists neither OSG's sites nor those only CRIC knows, so a site missing
# from it is not gone.
SOURCE = Source(label="GOCDB", fields=("country", "country_code"), federations=False,
                names=False, complete=False)

REQUIRED = ("NAME", "COUNTRY", "COUNTRY_CODE")
CLOSED = "Closed"  # a certification status: GOCDB keeps closed sites for its own records


def parse(text: str) -> Parsed:
    """Records of the sites in GOCDB's site list, less the closed ones; SourceError, naming
    the record, for anything malformed."""
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
        if element.get("CERTIFICATION_STATUS") == CLOSED:
            parsed.skipped.append(f"Skipped {record.name}: closed in GOCDB")
            continue
        parsed.records.append(record)
    return parsed


def _site(element, position: int) -> SiteRecord:
    name = (element.get("NAME") or "").strip()
    where = f'GOCDB record "{name}"' if name else f"GOCDB record #{position}"
    # A site without a name cannot be matched; one without a country may have an empty one.
    missing = [attribute for attribute in REQUIRED if attribute not in element.attrib]
    if not name and "NAME" not in missing:
        missing.insert(0, "NAME")
    if missing:
        listed = ", ".join(f'"{attribute}"' for attribute in missing)
        raise SourceError(f"{where}: missing attribute{'s' if len(missing) > 1 else ''} "
                          f"{listed}")
    return SiteRecord(name=name, country=element.get("COUNTRY").strip(),
                      country_code=element.get("COUNTRY_CODE").strip())
