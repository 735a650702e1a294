"""The API's data: site A's and site B's tokens, and a few more sites of every sort with an
exception, migration states and reported values."""

import pytest

from experiments.models import Migration
from sites.models import Site, SiteMigration, SiteToken

from ...factories.exceptions import grant
from ...factories.sites import make_site
from ...helpers import day


@pytest.fixture
def api_data(site_a, site_b, contact_a):
    """A few more sites of every sort, an exception, migration states, reported values."""
    make_site("SITE-C", kind="hpc", serves=("atlas", "lhcb"), tier=1, country="Germany",
              container_runtime="apptainer", container_runtime_version="1.3.4",
              unprivileged_userns="yes", cvmfs="yes", outbound_network="yes")
    make_site("SITE-D", serves=("alice",))
    make_site("SITE-E.CLOUD", kind="cloud", serves=("lhcb", "cms"), container_runtime="none",
              cvmfs="no")
    grant(site_a, day(-10), day(20), reason="Deploying Apptainer", granted_by="the WG")
    grant(site_b, day(-100), day(-1), reason="Was deploying", granted_by="the WG")
    # ALICE's migration is recorded by hand; the others follow the assessments.
    jalien = Migration.objects.get(slug="alien-to-jalien")
    SiteMigration.objects.create(site=Site.objects.get(name="SITE-D"), migration=jalien,
                                 completed_step=jalien.steps.first())
    SiteToken.issue(site_a, "probe", contact_a)
