"""WLCG CRIC's resource-centre query, `/api/core/rcsite/query/?json`: a JSON object of the
resource centres by name, each with its WLCG tier (`rc_tier_level`), `country`,
`country_code`, `federations` (a list of names), its certification status (`cert_status`,
GOCDB's where the centre is in GOCDB, e.g. "closed" or "suspended") and the experiment sites
it hosts (`sites`: a list, each with its own `name`, its experiment (`vo_name`) and the
experiment's tier for it (`tier_level`)). The `/list/?json` form, a list of the same objects,
is read too, and so is CRIC's 2019 layout: one `federation` (a string) and no WLCG tier.
Everything else CRIC says (coordinates, contacts, ...) is left alone.
"""

from __future__ import annotations

import json

from sites.models import TIER_CHOICES

from . import (
    NameRecord,
    Parsed,
    SiteRecord,
    Source,
    SourceError,
    blank_if_missing,
    read_text,
    shown,
)

SOURCE = Source(label="CRIC", fields=("tier", "country", "country_code"), federations=True,
                names=True)

SITE_FIELDS = ("rc_tier_level", "country", "country_code", "federations", "sites")
SITE_FIELDS_2019 = ("country", "country_code", "federation", "sites")
LAYOUTS = ("expected CRIC's resource-centre layout (rc_tier_level, country, country_code, "
           "federations, sites) or its 2019 layout (country, country_code, federation, sites)")
NAME_FIELDS = ("name", "vo_name", "tier_level")
TIERS = {tier for tier, _ in TIER_CHOICES}
# CRIC files the experiment sites that belong to no resource centre under a centre of this
# name; it is not a site.
PLACEHOLDER = "NULL"


def read(location: str) -> Parsed:
    """The records of CRIC's answer at a path or URL."""
    return parse(read_text(location))


def parse(text: str) -> Parsed:
    """Records of the resource centres in CRIC's JSON; SourceError, naming the record, for
    anything malformed."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"CRIC data is not valid JSON: {error}") from error
    parsed = Parsed(records=[])
    for key, entry in _entries(data):
        if key == PLACEHOLDER:
            parsed.skipped.append(f"Skipped {PLACEHOLDER}: CRIC's placeholder for experiment "
                                  "sites without a resource centre, not a site")
            continue
        parsed.records.append(_site(key, entry))
    return parsed


def _entries(data) -> list[tuple[str, object]]:
    if isinstance(data, dict):
        return list(data.items())
    if isinstance(data, list):
        return [(_name_in(entry, position), entry) for position, entry in enumerate(data, 1)]
    raise SourceError("CRIC data is neither an object nor a list of resource centres")


def _name_in(entry, position: int) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise SourceError(f"CRIC record #{position}: missing field \"name\"")
    return name


def _site(key: str, entry) -> SiteRecord:
    where = f"CRIC record {shown(key)}"
    if not isinstance(entry, dict):
        raise SourceError(f"{where} is not an object")
    # In the object form the name is the key; a record naming itself otherwise is ambiguous.
    if "name" in entry and entry["name"] != key:
        raise SourceError(f"{where}: its name {shown(entry['name'])} differs from its key")
    if "federation" in entry and "federations" not in entry:  # the 2019 layout
        _require(entry, SITE_FIELDS_2019, where, LAYOUTS)
        tier = None  # that layout gives no WLCG tier
        federations = [entry["federation"]]
    else:
        _require(entry, SITE_FIELDS, where, LAYOUTS)
        tier = _tier(entry["rc_tier_level"], where)
        federations = _list(entry, "federations", where)
    return SiteRecord(
        name=key.strip(),
        tier=tier,
        country=_text(entry, "country", where),
        country_code=_text(entry, "country_code", where),
        federations=tuple(sorted({name for name in (
            _text_value(item, "federations", where) for item in federations) if name})),
        names=tuple(_name(item, position, where)
                    for position, item in enumerate(_list(entry, "sites", where), 1)),
        state=_state(entry, where),
    )


def _state(entry: dict, where: str) -> str:
    """CRIC's word on the centre: its `state` where that is not the usual ACTIVE, else its
    certification status; lower case, "" where CRIC says nothing."""
    state = _text_value(entry.get("state"), "state", where).lower()
    if state and state != "active":
        return state
    return _text_value(entry.get("cert_status"), "cert_status", where).lower()


def _name(item, position: int, site_where: str) -> NameRecord:
    if not isinstance(item, dict):
        raise SourceError(f"{site_where}: experiment site #{position} is not an object")
    name = item.get("name")
    where = (f"{site_where}: experiment site {shown(name)}" if isinstance(name, str) and name
             else f"{site_where}: experiment site #{position}")
    _require(item, NAME_FIELDS, where)
    return NameRecord(
        # CRIC's VO names are the experiments' slugs; the case is CRIC's business.
        experiment=_text(item, "vo_name", where).lower(),
        name=_text(item, "name", where),
        tier=_tier(item["tier_level"], where),
    )


def _require(entry: dict, fields: tuple[str, ...], where: str, expected: str = "") -> None:
    missing = [name for name in fields if name not in entry]
    if missing:
        listed = ", ".join(f'"{name}"' for name in missing)
        raise SourceError(f"{where}: missing field{'s' if len(missing) > 1 else ''} {listed}"
                          + (f"; {expected}" if expected else ""))


def _tier(value, where: str) -> int | None:
    """A tier, 0 to 3, or None where CRIC gives none."""
    if isinstance(value, str) or value is None:
        value = blank_if_missing(value)
        if not value:
            return None
        if value.isdigit():
            value = int(value)
    # bool is an int to Python, not a tier to CRIC.
    if isinstance(value, int) and not isinstance(value, bool) and value in TIERS:
        return value
    raise SourceError(f"{where}: unknown tier {shown(value)}")


def _text(entry: dict, field: str, where: str) -> str:
    return _text_value(entry[field], field, where)


def _text_value(value, field: str, where: str) -> str:
    if value is not None and not isinstance(value, str):
        raise SourceError(f'{where}: field "{field}" is not text: {shown(repr(value))}')
    return blank_if_missing(value)


def _list(entry: dict, field: str, where: str) -> list:
    value = entry[field]
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(f'{where}: field "{field}" is not a list')
    return value
