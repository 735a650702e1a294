"""An exception's state on a day has one definition in SQL (`with_state`, `active_on`) and the
same rule in the pure policy engine (`Grant.active_on`): they must never disagree, and the
pages show the state the database computed."""

import datetime

import pytest

from experiments.models import ExceptionKind
from sites.assessment import Grant
from sites.models import ExceptionState, SiteException

from ..factories.sites import make_site

DAY = datetime.date(2026, 6, 15)

# (granted, expires, revoked) in days from DAY, and the state on DAY
CASES = [
    ((-10, 10, None), ExceptionState.ACTIVE),
    ((-10, 0, None), ExceptionState.ACTIVE),  # the expiry day itself still counts
    ((-10, None, None), ExceptionState.ACTIVE),
    ((0, 5, None), ExceptionState.ACTIVE),
    ((-10, -1, None), ExceptionState.EXPIRED),
    ((1, 10, None), ExceptionState.UPCOMING),
    ((-10, 10, 0), ExceptionState.REVOKED),  # revoked today: no longer in force
    ((-10, 10, 3), ExceptionState.ACTIVE),  # a revocation dated later is not yet in force
    ((-10, -5, -3), ExceptionState.REVOKED),
]


def offset(days: int | None) -> datetime.date | None:
    return None if days is None else DAY + datetime.timedelta(days=days)


@pytest.fixture
def exceptions(reference) -> list[tuple[SiteException, ExceptionState]]:
    kind = ExceptionKind.objects.get(slug="singularity-transition")
    made = []
    for index, ((granted, expires, revoked), state) in enumerate(CASES):
        site = make_site(f"STATE-{index}", serves=("cms",))
        made.append((SiteException.objects.create(
            site=site, experiment=kind.experiment, kind=kind, reason="test", granted_by="WG",
            granted_on=offset(granted), expires_on=offset(expires), revoked_on=offset(revoked)),
            state))
    return made


def test_the_database_and_the_policy_engine_agree_on_every_exception_state(exceptions):
    states = dict(SiteException.objects.with_state(DAY).values_list("id", "state"))
    active = set(SiteException.objects.active_on(DAY).values_list("id", flat=True))

    for exception, expected in exceptions:
        grant = Grant(id=exception.id, kind_name="", outcome=None,
                      granted_on=exception.granted_on, expires_on=exception.expires_on,
                      revoked_on=exception.revoked_on)
        assert states[exception.id] == expected, exception.site.name
        assert (exception.id in active) == (expected == ExceptionState.ACTIVE)
        assert grant.active_on(DAY) == (expected == ExceptionState.ACTIVE)


def test_the_site_page_shows_each_exception_in_its_state(client, exceptions, time_machine):
    time_machine.move_to(datetime.datetime.combine(DAY, datetime.time(12)))
    shown = {
        "STATE-0": ">active<", "STATE-4": ">expired<", "STATE-5": ">from 2026-06-16<",
        "STATE-6": ">revoked 2026-06-15<",
    }
    for name, tag in shown.items():
        assert tag in client.get(f"/sites/{name}/").content.decode(), name
