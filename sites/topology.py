"""WLCG's real topology as shipped in fixtures/topology/ (CRIC's resource centres on
2026-04-15), given back in the shape CRIC publishes it: what the benchmark and the tests
import, as an operator would import CRIC's own answer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.conf import settings

TOPOLOGY = settings.FILES_DIR / "fixtures" / "topology"


def cric_query(topology: Path = TOPOLOGY) -> dict[str, dict]:
    """The resource centres as CRIC's `/api/core/rcsite/query/?json` gives them: an object
    by name, with CRIC's own spelling of what it does not know (`NULL`, empty strings)."""
    with open(topology / "wlcg-experiment-sites.csv", newline="") as f:
        names: dict[str, list[dict]] = {}
        for row in csv.DictReader(f):
            names.setdefault(row["site"], []).append({
                "name": row["vo_site_name"], "vo_name": row["vo"],
                "tier_level": int(row["vo_tier"]) if row["vo_tier"] else None})
    with open(topology / "wlcg-sites.csv", newline="") as f:
        return {row["name"]: {
            "name": row["name"],
            "rc_tier_level": int(row["tier"]) if row["tier"] else None,
            "country": row["country"],
            "country_code": row["country_code"],
            "federations": [name for name in row["federations"].split(";") if name],
            "institute": row["institute"],
            "status": row["status"],
            "cert_status": row["cert_status"],
            "sites": names.get(row["name"], []),
        } for row in csv.DictReader(f)}


def cric_json(topology: Path = TOPOLOGY) -> str:
    return json.dumps(cric_query(topology), indent=1)
