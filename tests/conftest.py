import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command

from experiments.models import Experiment
from sites.management.commands.build_demo_fixture import DEMO_DATE
from sites.models import SiteToken

from .factories.accounts import UserFactory
from .factories.sites import make_site


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: the database is rolled back between tests, the
    in-process cache is not."""
    cache.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database with the WG's reference data, loaded once: every test's transaction
    rolls back to it."""
    with django_db_blocker.unblock():
        call_command("loaddata", "reference", verbosity=0)


@pytest.fixture
def reference(db):
    """The WG's reference data: experiments, scenarios, capabilities, policies, migrations.
    A transactional test empties the database when it ends; the next one loads it again."""
    if not Experiment.objects.exists():
        call_command("loaddata", "reference", verbosity=0)


def demo_day(hour: int = 12):
    """The clock set to the day the demo data was made, so that its exceptions are as active,
    expiring or expired as it meant them to be, whenever the tests run."""
    when = datetime.datetime.combine(DEMO_DATE, datetime.time(hour), tzinfo=datetime.UTC)
    return time_machine.travel(when, tick=True)


@pytest.fixture
def on_demo_date():
    with demo_day():
        yield


@pytest.fixture(scope="session")
def demo_database(django_db_setup, django_db_blocker):
    """The demo, loaded once for every test that uses it: they run last (see below), each in a
    transaction rolled back to it. Loading it takes seconds. It is loaded in the morning of
    the demo day, before anything its tests do at noon."""
    with django_db_blocker.unblock(), demo_day(hour=6):
        call_command("load_demo", verbosity=0)


@pytest.fixture
def demo(demo_database, reference, on_demo_date):
    """The demo sites on top of the reference data, loaded as the demo command loads them."""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The tests on the demo run after all others, so that no other test sees the demo they
    share (`demo_database`). After pytest-django's own ordering, which runs transactional tests
    after the others: those empty the database when they end, and the demo's loading brings
    the reference data back."""
    items[:] = ([item for item in items if "demo_database" not in item.fixturenames]
                + [item for item in items if "demo_database" in item.fixturenames])


# --- personas: two sites, a contact of each, a WG member ----------------------------------------

@pytest.fixture
def site_a(reference):
    """A grid site without a container runtime and without outbound network: CMS finds it
    not isolated, ATLAS runs there without network."""
    return make_site("SITE-A", serves=("cms", "atlas"), container_runtime="none", cvmfs="yes",
                     outbound_network="no")


@pytest.fixture
def site_b(reference):
    """A grid site with Singularity: CMS isolates its payloads there."""
    return make_site("SITE-B", serves=("cms",), container_runtime="singularity",
                     container_runtime_version="3.8.7", cvmfs="yes")


@pytest.fixture
def contact_a(site_a):
    return UserFactory(username="alice", email="alice@site-a.example.org", first_name="Alice",
                       last_name="Able", contact_for_sites=[site_a])


@pytest.fixture
def contact_b(site_b):
    return UserFactory(username="bob", email="bob@site-b.example.org",
                       contact_for_sites=[site_b])


@pytest.fixture
def wg_member(reference):
    return UserFactory(username="wendy", email="wendy@wlcg.example.org", first_name="Wendy",
                       last_name="Gee", wg_member=True)


@pytest.fixture
def key_a(contact_a, site_a) -> str:
    """The key of a token Alice made for SITE-A."""
    return SiteToken.issue(site_a, "probe on ce01", contact_a)[1]


@pytest.fixture
def key_b(contact_b, site_b) -> str:
    """The key of a token Bob made for SITE-B."""
    return SiteToken.issue(site_b, "probe", contact_b)[1]
