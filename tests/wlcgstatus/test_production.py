"""scripts/production as an operator runs it: the package installed (not the checkout), on a
PostgreSQL database of its own and Redis, gunicorn serving behind the (simulated) TLS proxy,
a Celery worker making a report, and every part stopped by one SIGTERM.

Skipped, saying why, where PostgreSQL or Redis does not answer."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import psycopg
import pytest
import redis
import requests
from django.conf import settings

from ..helpers import production_environment

POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/13"
PUBLIC = "https://wlcgstatus.example.org"


def answers(connect) -> bool:
    try:
        connect()
    except (psycopg.OperationalError, redis.exceptions.ConnectionError):
        return False
    return True


pytestmark = [
    pytest.mark.production,  # it runs PostgreSQL whatever the suite runs on
    pytest.mark.skipif(not answers(lambda: psycopg.connect(POSTGRES, connect_timeout=3).close()),
                       reason=f"no PostgreSQL answers at {POSTGRES}: production runs on it"),
    pytest.mark.skipif(not answers(lambda: redis.Redis.from_url(REDIS_URL).ping()),
                       reason=f"no Redis answers at {REDIS_URL}: production runs on it"),
]


@pytest.fixture
def database():
    name = f"wlcgstatus_production_{os.getpid()}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """Where production installs itself and collects its static files, shared by the
    module's tests as by an operator's restarts: an install again only replaces wlcgstatus,
    and unchanged static files are not collected again."""
    where = tmp_path_factory.mktemp("production")
    return {"VENV": str(where / "venv"), "STATIC_ROOT": str(where / "static")}


@pytest.fixture
def production(database, tmp_path, installed):
    """The production command, started; its address, its environment and its output."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    port = free_port()
    env = production_environment(
        DATABASE_URL=database, REDIS_URL=REDIS_URL, ALLOWED_HOSTS="wlcgstatus.example.org",
        MEDIA_ROOT=str(tmp_path / "media"), BIND=f"127.0.0.1:{port}", WEB_WORKERS="2",
        TASK_WORKERS="1", STATE_DIR=str(tmp_path / "state"),
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend", **installed)
    log = tmp_path / "production.log"
    with open(log, "w") as output:
        process = subprocess.Popen(["bash", "scripts/production"], cwd=settings.BASE_DIR,
                                   env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"production did not start:\n{log.read_text()}")
            try:
                ThroughTheProxy().get(address, timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(1)
        yield address, env, process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


class ThroughTheProxy(requests.Session):
    """A browser on the public HTTPS address, as gunicorn sees it behind the TLS proxy: the
    proxy's headers on each request, and the cookies (secure ones, which plain HTTP would
    never send back) passed on as the proxy passes them."""

    def request(self, method, url, *args, headers=None, **kwargs):
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.cookies)
        headers = {"Host": "wlcgstatus.example.org", "X-Forwarded-Proto": "https",
                   "X-Forwarded-For": "192.0.2.7", **({"Cookie": cookies} if cookies else {}),
                   **(headers or {})}
        return super().request(method, url, *args, headers=headers, **kwargs)


def test_production_serves_from_the_package_makes_reports_and_stops_on_sigterm(production):
    address, env, process, log = production
    browser = ThroughTheProxy()

    overview = browser.get(f"{address}/", timeout=30)
    assert overview.status_code == 200
    assert "CMS" in overview.text  # the reference data, loaded into the empty database
    assert "max-age=31536000" in overview.headers["Strict-Transport-Security"]
    stylesheet = re.search(r'href="(/static/wlcgstatus\.[0-9a-f]{12}\.css)"', overview.text)
    assert stylesheet, "static files are served under their collected, hashed names"
    assert browser.get(f"{address}{stylesheet[1]}", timeout=30).status_code == 200
    venv = env["VENV"]
    where = subprocess.run([f"{venv}/bin/python", "-c",
                            "import wlcgstatus; print(wlcgstatus.__file__)"],
                           capture_output=True, text=True, cwd=env["STATE_DIR"], check=True)
    assert where.stdout.startswith(venv)  # the package, not the checkout

    # A report, asked for by a signed-in user and made by the Celery worker.
    subprocess.run([f"{venv}/bin/django-admin", "shell", "-c",
                    "from django.contrib.auth.models import User; "
                    "User.objects.create_user('operator', password='a long passphrase')"],
                   env=env, cwd=env["STATE_DIR"], check=True, capture_output=True)
    sign_in = browser.get(f"{address}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', sign_in.text)[1]
    origin = {"Origin": PUBLIC, "Referer": f"{PUBLIC}/accounts/login/"}
    signed_in = browser.post(f"{address}/accounts/login/", data={
        "username": "operator", "password": "a long passphrase",
        "csrfmiddlewaretoken": token}, headers=origin, allow_redirects=False, timeout=30)
    assert signed_in.status_code == 302, signed_in.text[:500]
    reports = browser.get(f"{address}/reports/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', reports.text)[1]
    asked = browser.post(f"{address}/reports/new/", data={
        "as_of": time.strftime("%Y-%m-%d"), "format": "md", "csrfmiddlewaretoken": token},
        headers=origin, allow_redirects=False, timeout=30)
    assert asked.status_code == 302, asked.text[:500]
    report = asked.headers["Location"].rstrip("/")
    deadline = time.monotonic() + 120
    while (status := browser.get(f"{address}{report}/status/", timeout=30).json())[
            "status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(1)
    assert status["status"] == "done", status
    made = browser.get(f"{address}{status['download']}", timeout=30)
    assert made.text.startswith("# WLCG Traceability and Isolation WG: Current status")

    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not re.search(r"Traceback", log.read_text())


def test_the_load_test_reports_its_figures_and_finds_every_accepted_write(tmp_path,
                                                                          installed):
    """scripts/loadtest.py as the README runs it, small: a database of its own, the
    production stack, readers, API clients and probes; the figures per kind of request."""
    database = f"wlcgstatus_load_{os.getpid()}"
    env = {**production_environment(), "SITES": "120", "USERS": "10", "DURATION": "12s",
           "LOAD_DATABASE": database, "LOAD_REDIS_URL": REDIS_URL, "WEB_WORKERS": "2",
           "TMPDIR": str(tmp_path), **installed}
    try:
        run = subprocess.run([sys.executable, "scripts/loadtest.py"], cwd=settings.BASE_DIR,
                             env=env, capture_output=True, text=True, timeout=600)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {line[:24].strip(): line[24:].split() for line in run.stdout.splitlines()
            if re.match(r"(overview|site page|api: probe report|all) +\d", line)}
    assert set(rows) == {"overview", "site page", "api: probe report", "all"}, run.stdout
    requests_made, errors = (int(figure.replace(",", "")) for figure in rows["all"][:2])
    assert requests_made > 20 and errors == 0, run.stdout
    accepted = re.search(r"every accepted write is in the history: yes \((\d+) of \1\)",
                         run.stdout)
    assert accepted and int(accepted[1]) > 0, run.stdout
