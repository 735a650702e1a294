import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command

from sites.management.commands.build_demo_fixture import DEMO_DATE
from sites.permissions import WG_MEMBERS

from .factories import PASSWORD, make_site


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
def contact_a(django_user_model, site_a):
    user = django_user_model.objects.create_user(
        "alice", "alice@site-a.example.org", PASSWORD, first_name="Alice", last_name="Able")
    site_a.contacts.add(user)
    return user


@pytest.fixture
def contact_b(django_user_model, site_b):
    user = django_user_model.objects.create_user("bob", "bob@site-b.example.org", PASSWORD)
    site_b.contacts.add(user)
    return user


@pytest.fixture
def wg_member(django_user_model, reference):
    user = django_user_model.objects.create_user(
        "wendy", "wendy@wlcg.example.org", PASSWORD, first_name="Wendy", last_name="Gee")
    user.groups.add(Group.objects.get(name=WG_MEMBERS))
    return user
