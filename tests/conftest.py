import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command

from sites.management.commands.build_demo_fixture import DEMO_DATE


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: the database is rolled back between tests, the
    in-process cache is not."""
    cache.clear()


@pytest.fixture
def reference(db):
    """The WG's reference data: experiments, scenarios, capabilities, policies, migrations."""
    call_command("loaddata", "reference", verbosity=0)


@pytest.fixture
def on_demo_date():
    """The clock set to the day the demo data was made, so that its exceptions are as active,
    expiring or expired as it meant them to be, whenever the tests run."""
    noon = datetime.datetime.combine(DEMO_DATE, datetime.time(12), tzinfo=datetime.UTC)
    with time_machine.travel(noon, tick=True):
        yield


@pytest.fixture
def demo(reference, on_demo_date):
    """The demo sites on top of the reference data, loaded as the demo command loads them."""
    call_command("load_demo", verbosity=0)
