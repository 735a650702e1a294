"""Build the demo fixture: real WLCG sites, tiers, countries, federations and experiment site
names, with invented capability values, exceptions and migration states, and a year of
history: some sites deployed their container runtime during the year. The fixture holds what
they reported a year ago; the history file, the dated reports that `load_demo` replays on their
days, through the same path as a site contact's form.

The invented values are deterministic (seeded by the site's name), so rebuilding gives the same
files, and they are marked as illustrative demo data wherever they show.
"""

import csv
import datetime
import json
import random
import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from sites.synthetic import invent_capabilities

TOPOLOGY_DATE = datetime.date(2026, 4, 15)  # the day CRIC gave fixtures/topology/
DEMO_DATE = datetime.date(2026, 11, 26)  # the day the demo's dates are relative to
HISTORY_START = DEMO_DATE - datetime.timedelta(days=365)  # the day the demo's history starts
DEPLOYED_IN_THE_YEAR = 0.3  # of the sites with a container runtime today
SITE_COUNT = 150
HPC_NAME = re.compile(r"HPC|Stampede", re.IGNORECASE)
CLOUD_NAME = re.compile(r"Cloud|AWS|Azure", re.IGNORECASE)


class Command(BaseCommand):
    help = "Build fixtures/demo.json from the WLCG topology in fixtures/topology/."

    def add_arguments(self, parser):
        fixtures = settings.FILES_DIR / "fixtures"
        parser.add_argument("--topology", type=Path, default=fixtures / "topology")
        parser.add_argument("--output", type=Path, default=fixtures / "demo.json")
        parser.add_argument("--history-output", type=Path,
                            default=fixtures / "demo-history.json")

    def handle(self, *args, topology: Path, output: Path, history_output: Path, **options):
        with open(topology / "wlcg-sites.csv", newline="") as f:
            sites = {row["name"]: row for row in csv.DictReader(f) if row["name"] != "NULL"}
        with open(topology / "wlcg-experiment-sites.csv", newline="") as f:
            names = [row for row in csv.DictReader(f) if row["site"] in sites]
        chosen = choose_sites(sites, names)
        objects, reports = demo_objects([sites[name] for name in chosen],
                                        [row for row in names if row["site"] in chosen])
        output.write_text(json.dumps(objects, indent=1, ensure_ascii=False) + "\n")
        history_output.write_text(json.dumps(
            {"since": HISTORY_START.isoformat(), "reports": reports}, indent=1) + "\n")
        self.stdout.write(f"Wrote {len(chosen)} sites ({len(objects)} objects) to {output}, "
                          f"{len(reports)} dated reports to {history_output}.")


def choose_sites(sites: dict[str, dict], names: list[dict]) -> list[str]:
    """Every tier-0 and tier-1 site, the tier-2 sites that serve an experiment, the HPC and
    cloud centres, then tier-3 sites serving several experiments, up to SITE_COUNT."""
    served: dict[str, set[str]] = {}
    for row in names:
        served.setdefault(row["site"], set()).add(row["vo"])

    def wanted(name: str) -> tuple:
        site = sites[name]
        special = bool(HPC_NAME.search(name) or CLOUD_NAME.search(name))
        return (site["tier"] not in ("0", "1"), not (site["tier"] == "2" or special),
                -len(served[name]), name)

    return sorted(sorted(served, key=wanted)[:SITE_COUNT])


def site_kind(name: str) -> str:
    if HPC_NAME.search(name):
        return "hpc"
    if CLOUD_NAME.search(name):
        return "cloud"
    return "grid"


def demo_objects(sites: list[dict], names: list[dict]) -> tuple[list[dict], list[dict]]:
    """The fixture's objects, and the dated reports that bring it from a year ago to today,
    oldest first."""
    reports = []
    objects = [
        {"model": "sites.federation", "fields": {"name": name}}
        for name in sorted({f for site in sites for f in site["federations"].split(";") if f})
    ]
    vos_of: dict[str, set[str]] = {}
    for row in names:
        vos_of.setdefault(row["site"], set()).add(row["vo"])
    for site in sites:
        name = site["name"]
        kind = site_kind(name)
        objects.append({"model": "sites.site", "fields": {
            "name": name,
            "tier": int(site["tier"]) if site["tier"] else None,
            "country": "" if site["country"] == "NULL" else site["country"],
            "country_code": site["country_code"],
            "federations": [[f] for f in site["federations"].split(";") if f],
            "kind": kind,
            "institute": site["institute"],
        }})
        objects.append({"model": "sites.sitesource", "fields": {
            "site": [name], "source": "CRIC", "listed_since": TOPOLOGY_DATE.isoformat(),
            "state": site["cert_status"],
        }})
        rng = random.Random(name)
        capabilities = invent_capabilities(rng, kind, DEMO_DATE)
        runtime = capabilities["container_runtime"][0]
        report = deployed_in_the_year(name, capabilities)
        if report:
            reports.append(report)
        for key, (value, reported_on) in capabilities.items():
            objects.append({"model": "sites.capabilityvalue", "fields": {
                "site": [name], "capability": [key], "value": value, "source": "demo",
                "reported_at": f"{reported_on.isoformat()}T09:00:00Z",
            }})
        vos = vos_of.get(name, set())
        if "cms" in vos and kind != "hpc" and runtime == "none":
            objects += invent_exception(rng, name)
        objects += invent_migrations(rng, name, vos)
    objects += [
        {"model": "sites.experimentsite", "fields": {
            "site": [row["site"]], "experiment": [row["vo"]], "name": row["vo_site_name"],
            "tier": int(row["vo_tier"]) if row["vo_tier"] else None,
        }}
        for row in names
    ]
    return objects, sorted(reports, key=lambda report: (report["on"], report["site"]))


def deployed_in_the_year(site: str, capabilities: dict[str, tuple[str, datetime.date]]
                         ) -> dict | None:
    """For some of the sites with a container runtime, a report of it on a day of the past
    year; `capabilities` is left as the site reported a year ago: no runtime. Drawn from a
    random generator of its own, so that the rest of the demo does not depend on it."""
    rng = random.Random(f"{site}:history")
    if capabilities["container_runtime"][0] == "none" or rng.random() >= DEPLOYED_IN_THE_YEAR:
        return None
    day = HISTORY_START + datetime.timedelta(days=rng.randint(20, 355))
    values = {key: capabilities[key][0] for key in
              ("container_runtime", "container_runtime_version") if key in capabilities}
    capabilities["container_runtime"] = ("none", HISTORY_START)
    capabilities.pop("container_runtime_version", None)
    return {"site": site, "on": day.isoformat(), "values": values}


def invent_exception(rng: random.Random, site: str) -> list[dict]:
    """A CMS site without Singularity: most hold a transition exception, some let it expire."""
    draw = rng.random()
    if draw < 0.25:
        return []
    expires_on = DEMO_DATE + datetime.timedelta(
        days=rng.randint(8, 240) if draw < 0.75 else -rng.randint(5, 120))
    granted_on = min(expires_on - datetime.timedelta(days=rng.choice([90, 180, 270])),
                     DEMO_DATE - datetime.timedelta(days=rng.randint(7, 60)))
    return [{"model": "sites.siteexception", "fields": {
        "site": [site], "experiment": ["cms"], "kind": ["cms", "singularity-transition"],
        "reason": f"Singularity deployment planned before {expires_on:%B %Y} "
                  "(illustrative demo data).",
        "granted_by": "WG meeting", "granted_on": granted_on.isoformat(),
        "expires_on": expires_on.isoformat(),
    }}]


def invent_migrations(rng: random.Random, site: str, vos: set[str]) -> list[dict]:
    objects = []

    def state(experiment: str, migration: str, step: int | None, on: datetime.date) -> None:
        objects.append({"model": "sites.sitemigration", "fields": {
            "site": [site], "migration": [experiment, migration],
            "completed_step": [experiment, migration, step] if step else None,
            "updated_on": on.isoformat(),
        }})

    # Only ALICE's migration is recorded by hand; CMS's and LHCb's follow the assessments.
    if "alice" in vos:
        step = rng.choices([2, 1, None], [80, 12, 8])[0]
        state("alice", "alien-to-jalien", step,
              datetime.date(2021, 3, 1) + datetime.timedelta(days=rng.randint(0, 700)))
    return objects
