"""Importing sites from WLCG's topology sources: WLCG CRIC (sites, tiers, countries,
federations and the experiments' own names) and GOCDB (sites and countries).

Each source has a parser (`cric.py`, `gocdb.py`) that turns its text into the plain records
below, knowing nothing of the database; `apply.py` compares the records with the database and
applies the difference, the same way for every source.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

URL_TIMEOUT = 60  # seconds; CRIC answers its full resource-centre query in a few
SHOWN_LENGTH = 60  # characters of a value an error message quotes
# The sources by authority: a field two sources give is the first one's, for the sites it lists.
AUTHORITY = ("CRIC", "GOCDB")


class SourceError(ValueError):
    """The source could not be read or is malformed; the message names the record."""


@dataclass(frozen=True)
class NameRecord:
    """A name an experiment uses for (part of) a site, with the experiment's tier for it."""

    experiment: str  # the experiment's slug, e.g. "cms"
    name: str
    tier: int | None


@dataclass(frozen=True)
class SiteRecord:
    """A site as a source describes it. Which of these a source actually gives is said by its
    `Source`: GOCDB, for one, knows no tiers, so its records' `tier` means nothing."""

    name: str
    country: str
    country_code: str
    tier: int | None = None
    federations: tuple[str, ...] = ()
    names: tuple[NameRecord, ...] = ()
    state: str = ""  # what the source says of the site, e.g. "closed"


@dataclass(frozen=True)
class Source:
    """What a source is the authority for, so that an import changes only that."""

    label: str  # e.g. "CRIC": in the output, the errors and the history
    fields: tuple[str, ...]  # the Site fields it gives, e.g. ("tier", "country")
    federations: bool  # whether it gives each site's federations
    names: bool  # whether it gives each site's experiment names


def blank_if_missing(value) -> str:
    """A text value, stripped; "" where a source says it has none. CRIC writes a missing value
    as null, as an empty string or as the text "NULL"; every parser reads them alike."""
    if value is None:
        return ""
    value = value.strip()
    return "" if value.upper() == "NULL" else value


def shown(value) -> str:
    """A value quoted for an error message, cut to SHOWN_LENGTH characters: a record's name
    may be anything, ten kilobytes of it included."""
    text = str(value)
    if len(text) > SHOWN_LENGTH:
        text = f"{text[:SHOWN_LENGTH]}… ({len(text):,} characters)"
    return f'"{text}"'


@dataclass
class Parsed:
    records: list[SiteRecord]
    skipped: list[str] = field(default_factory=list)  # what the parser left out, and why
    next_page: str = ""  # the URL of the source's next page, for a paged source


def read_text(path_or_url: str) -> str:
    """The text of a file, or of a URL (http or https) given on the command line."""
    try:
        if path_or_url.startswith(("http://", "https://")):
            with urllib.request.urlopen(path_or_url, timeout=URL_TIMEOUT) as response:
                return response.read().decode("utf-8")
        return Path(path_or_url).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:  # URLError is an OSError
        raise SourceError(f"Cannot read {path_or_url}: {error}") from error
