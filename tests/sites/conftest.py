"""The sites' personas in browsers of their own, a staff account that is nothing else, CMS's
exception kind with an exception granted at SITE-A, and more sites than a page of the table.

Alice is the contact of SITE-A (with a full name), Bob of SITE-B (no full name), Wendy a WG
member and Sam staff, nothing else (tests/conftest.py makes their accounts and sites)."""

import pytest
from django_webtest import DjangoTestApp

from experiments.models import ExceptionKind
from sites.models import SiteException

from ..factories.accounts import UserFactory
from ..factories.exceptions import grant
from ..factories.sites import NO_CONTAINERS, bulk_sites
from ..helpers import browser, day


@pytest.fixture
def staff(db):
    """Staff status, no group, no site: the admin's door, and nothing behind it."""
    return UserFactory(username="sam", email="sam@cern.example.org", is_staff=True)


@pytest.fixture
def alice(contact_a) -> DjangoTestApp:
    return browser(contact_a)


@pytest.fixture
def bob(contact_b) -> DjangoTestApp:
    return browser(contact_b)


@pytest.fixture
def wendy(wg_member) -> DjangoTestApp:
    return browser(wg_member)


@pytest.fixture
def cms_kind(reference) -> ExceptionKind:
    return ExceptionKind.objects.get(slug="singularity-transition")


@pytest.fixture
def cms_exception(site_a, cms_kind) -> SiteException:
    """CMS's transition exception at SITE-A, granted by the WG 20 days ago, for 10 more days."""
    return grant(site_a, day(-20), day(10), reason="Deploying Apptainer")


@pytest.fixture
def many_bare_cms_sites(reference):
    """60 CMS sites without Singularity and 15 with it: more than a page of 50 either way."""
    bulk_sites(60, prefix="BARE", serves=("cms", "atlas"), kind="grid",
               patterns=[NO_CONTAINERS], extras=False)
    bulk_sites(15, prefix="SING", serves=("cms",), kind="grid",
               patterns=[{"container_runtime": "singularity"}], extras=False)
