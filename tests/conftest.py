import pytest
from django.core.management import call_command

from sites.management.commands.build_demo_fixture import DEMO_DATE
from sites.recompute import recompute


@pytest.fixture
def reference(db):
    """The WG's reference data: experiments, scenarios, capabilities, policies, migrations."""
    call_command("loaddata", "reference", verbosity=0)


@pytest.fixture
def demo(reference):
    """The demo sites on top of the reference data, assessed on the day the demo was made,
    so that its exceptions are as active or expired as it meant them to be."""
    call_command("loaddata", "demo", verbosity=0)
    recompute(today=DEMO_DATE)
