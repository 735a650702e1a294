"""Reports through a real Redis broker and a real Celery worker process, as in production.

Skipped, with the reason, where no Redis answers at 127.0.0.1:6379."""

import os
import subprocess
import sys
import time

import pytest
import redis
from django.core.management import call_command

from wlcgstatus.celery import app as celery_app
from wlcgstatus.models import Report

from ...factories.accounts import UserFactory
from ...helpers import database_url

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")  # a DB of our own


def redis_answers() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


pytestmark = [
    pytest.mark.skipif(not redis_answers(),
                       reason=f"no Redis answers at {REDIS_URL}: the real-broker tests need one"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.backend_independent,  # the broker and the worker are what is tested
]



def reset_connections() -> None:
    """Forget the connection pools made for the previous broker (earlier tests may have made
    some in-process); the next use makes them for the current one."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """This process sends tasks to the real Redis instead of running them in-process."""
    saved = {key: celery_app.conf[key] for key in
             ("broker_url", "result_backend", "task_always_eager")}
    celery_app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL,
                           task_always_eager=False)
    reset_connections()
    yield
    celery_app.conf.update(saved)
    reset_connections()
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def worker(broker, tmp_path, settings):
    """A Celery worker process on the same broker and the same test database."""
    settings.MEDIA_ROOT = tmp_path
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": REDIS_URL,
           "MEDIA_ROOT": str(tmp_path), "DJANGO_SETTINGS_MODULE": "wlcgstatus.settings"}
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wlcgstatus", "worker", "--loglevel", "info",
         "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--hostname", f"test-{os.getpid()}@%h"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the worker did not start:\n"
                                   + (tmp_path / "worker.log").read_text())
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_a_report_requested_on_the_page_is_made_by_the_worker(worker, client):
    client.force_login(UserFactory(username="chair"))
    call_command("loaddata", "reference", "demo", verbosity=0)

    response = client.post("/reports/new/", {"as_of": "2026-11-20", "since": "2026-10-01",
                                             "format": "pdf"})
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{report.pk}/"

    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/reports/{report.pk}/status/").json()
        if not seen or seen[-1] != (status["status"], status["progress"]):
            seen.append((status["status"], status["progress"]))
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.2)

    assert seen[-1] == ("done", 100), seen
    progress = [percent for _, percent in seen]
    assert progress == sorted(progress), "progress only moves forward"
    assert any(state == "running" and 0 < percent < 100 for state, percent in seen), seen
    assert status["download"] == f"/reports/{report.pk}/download/"
    download = client.get(status["download"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == (
        'attachment; filename="wlcg-isolation-status-2026-11-20-since-2026-10-01.pdf"')
    assert b"".join(download.streaming_content).startswith(b"%PDF")
