"""Browser tests: Debian's Chromium, driven headless by Playwright, against a live server."""

import os
import shutil

import pytest
from django.core.management import call_command

# Playwright runs an event loop in the test thread; Django's ORM calls from it are safe here
# because each test has the database to itself.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium "
                                   "(scripts/test does) to run the browser tests")
    for item in items:
        if item.nodeid.startswith("tests/browser/"):
            # What a browser shows does not depend on the database engine.
            item.add_marker(pytest.mark.backend_independent)
            if not os.path.exists(CHROMIUM):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage", "--disable-gpu"],
    }


@pytest.fixture
def live_demo(transactional_db, live_server, on_demo_date):
    """The demo data behind a live server, on the demo's own day."""
    call_command("load_demo", verbosity=0)
    return live_server


@pytest.fixture
def watched_page(page, live_server):
    """A page that records console errors and every request that leaves the live server."""
    page.console_errors = []
    page.foreign_requests = []
    page.on("console", lambda message: message.type == "error"
            and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))

    def check_host(request):
        if not request.url.startswith((live_server.url, "data:", "blob:")):
            page.foreign_requests.append(request.url)

    page.on("request", check_host)
    return page
