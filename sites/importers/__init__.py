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


@dataclass(frozen=True)
class Source:
    """What a source is the authority for, so that an import changes only that."""

    label: str  # e.g. "CRIC": in the output, the errors and the history
    fields: tuple[str, ...]  # the Site fields it gives, e.g. ("tier", "country")
    federations: bool  # whether it gives each site's federations
    names: bool  # whether it gives each site's experiment names
    # Whether it lists every site: only then is a site missing from it gone.
    complete: bool


@dataclass
class Parsed:
    records: list[SiteRecord]
    skipped: list[str] = field(default_factory=list)  # what the parser left out, and why


def read_text(path_or_url: str) -> str:
    """The text of a file, or of a URL (http or https) given on the command line."""
    try:
        if path_or_url.startswith(("http://", "https://")):
            with urllib.request.urlopen(path_or_url, timeout=URL_TIMEOUT) as response:
                return response.read().decode("utf-8")
        return Path(path_or_url).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:  # URLError is an OSError
        raise SourceError(f"Cannot read {path_or_url}: {error}") from error
