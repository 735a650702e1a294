"""The load test (run by scripts/loadtest, which installs Locust first).

Builds a PostgreSQL database of its own with SITES synthetic sites and a year of history,
starts the production stack on it (scripts/production: gunicorn, a Celery worker and beat,
Redis), puts scripts/locustfile.py's mix of readers, API clients and probes on it for
DURATION, then prints requests per second, p50/p95/p99 and errors per kind of request, and
checks that every write the dashboard accepted is in the history."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

CHECKOUT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES = os.environ.get("POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("LOAD_DATABASE", "wlcgstatus_load")
SITES = int(os.environ.get("SITES", "20000"))
USERS = int(os.environ.get("USERS", "30"))
DURATION = os.environ.get("DURATION", "60s")
VENV = os.environ.get("VENV", "")  # where production installs itself (default: a new one)
PROBE_SITES = 200  # sites with a probe token
HOST = "wlcgstatus.example.org"

# The sites and their tokens, for the locustfile: written by the prepared database's shell.
PREPARE_TOKENS = """
import json, os
from django.contrib.auth.models import User
from sites.models import Site, SiteToken
contact = User.objects.create_user("load-probe")
sites = list(Site.objects.order_by("name").values_list("name", flat=True))
tokens = {}
for site in Site.objects.order_by("?")[:int(os.environ["LOAD_PROBE_SITES"])]:
    site.contacts.add(contact)
    tokens[site.name] = SiteToken.issue(site, "load test probe", contact)[1]
json.dump({"sites": sites, "tokens": tokens}, open(os.environ["LOAD_TOKENS"], "w"))
"""

# After the run: each accepted write, looked for in the capability history.
CHECK_WRITES = """
import os, sys
from sites.models import CapabilityValue
writes = [line.split() for line in open(os.environ["LOAD_WRITES"]) if line.strip()]
recorded = set(CapabilityValue.history.filter(capability__key="container_runtime_version",
                                              value__startswith="1.4.")
               .values_list("site__name", "value"))
missing = [write for write in writes if tuple(write) not in recorded]
print(f"every accepted write is in the history: {'yes' if not missing else 'NO'} "
      f"({len(writes) - len(missing):,} of {len(writes):,})")
for name, version in missing[:20]:
    print(f"  missing: {name} {version}")
sys.exit(1 if missing else 0)
"""


def say(text: str) -> None:
    print(f"== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=CHECKOUT, env=env, check=True)


def fresh_database() -> str:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    return f"{POSTGRES}/{DATABASE}"


def wait_until_serving(address: str, production: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300
    while True:
        if production.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"== production did not start:\n{log.read_text()}")
        try:
            requests.get(address, headers={"Host": HOST, "X-Forwarded-Proto": "https"},
                         timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(1)


def summarise(stats: Path) -> None:
    """Locust's own figures, one row per kind of request and the total."""
    print(f"{'request':<24} {'requests':>9} {'errors':>7} {'per s':>7} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    with open(stats, newline="") as f:
        for row in csv.DictReader(f):
            name = "all" if row["Name"] == "Aggregated" else row["Name"]
            print(f"{name:<24} {int(row['Request Count']):>9,} {int(row['Failure Count']):>7,} "
                  f"{float(row['Requests/s']):>7.1f} {row['50%']:>7} {row['95%']:>7} "
                  f"{row['99%']:>7}")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="wlcgstatus-load-"))
    redis_url = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wlcgstatus.settings", "DEBUG": "False",
           "SECRET_KEY": os.urandom(32).hex(), "ALLOWED_HOSTS": HOST,
           "SITE_URL": f"https://{HOST}", "DATABASE_URL": fresh_database(),
           "REDIS_URL": redis_url, "MEDIA_ROOT": str(work / "media"),
           "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
           "ENV_FILE": os.devnull}
    say(f"a database of its own ({DATABASE}) with {SITES:,} synthetic sites and a year of "
        f"history (minutes at 20,000)")
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "loaddata", "reference", "--verbosity", "0")
    manage(env, "generate_sites", str(SITES))
    tokens, writes = work / "tokens.json", work / "writes.txt"
    env |= {"LOAD_TOKENS": str(tokens), "LOAD_WRITES": str(writes), "LOAD_HOST": HOST,
            "LOAD_PROBE_SITES": str(PROBE_SITES)}
    manage(env, "shell", "--command", PREPARE_TOKENS)
    writes.touch()

    port = free_port()
    log = work / "production.log"
    say(f"starting production on 127.0.0.1:{port} (its log: {log})")
    with open(log, "w") as output:
        production = subprocess.Popen(
            ["bash", "scripts/production"], cwd=CHECKOUT, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
            env={**env, "BIND": f"127.0.0.1:{port}", "VENV": VENV or str(work / "venv"),
                 "STATE_DIR": str(work / "state")})
    try:
        address = f"http://127.0.0.1:{port}"
        wait_until_serving(address, production, log)
        workers = os.environ.get("WEB_WORKERS", "3")
        say(f"Locust: {USERS} users (readers, API clients, probes 6:3:1) for {DURATION}, "
            f"against gunicorn with {workers} workers, 4 threads each")
        subprocess.run(
            [str(Path(PYTHON).parent / "locust"), "-f", "scripts/locustfile.py", "--headless",
             "--users", str(USERS), "--spawn-rate", str(USERS), "--run-time", DURATION,
             "--host", address, "--csv", str(work / "load"), "--only-summary",
             "--loglevel", "WARNING", "--stop-timeout", "10", "--exit-code-on-error", "0"],
            cwd=CHECKOUT, env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        os.killpg(production.pid, signal.SIGTERM)
        production.wait(timeout=60)
    print()
    summarise(work / "load_stats.csv")
    with open(work / "load_exceptions.csv", newline="") as f:
        broken = list(csv.DictReader(f))
    for row in broken:  # the locustfile's own failures, not the dashboard's answers
        print(f"the load script failed {row['Count']} times: {row['Message']}")
    if broken:
        sys.exit(1)
    check = subprocess.run([PYTHON, "manage.py", "shell", "--command", CHECK_WRITES],
                           cwd=CHECKOUT, env=env)
    sys.exit(check.returncode)


if __name__ == "__main__":
    main()
