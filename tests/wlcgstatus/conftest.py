"""What the project's tests share: a story of sites over weeks, for what is shown as of a day
(its tenth day, the meeting)."""

import pytest

from experiments.models import PolicyRule
from sites.models import Site
from sites.updates import record_capabilities
from wlcgstatus.snapshots import take_snapshot

from ..factories.exceptions import grant, renew
from ..factories.sites import make_site, record_step
from ..helpers import on, story_day


@pytest.fixture
def story(reference):
    """Sites and exceptions up to the meeting on D, then the weeks after it: reports,
    renewals, revocations, expiries, a rule changed, a site added and one retired."""
    with on(story_day(1)):
        a = make_site("CH-A", serves=("cms",), container_runtime="none")
        make_site("CH-B", serves=("cms",), container_runtime="singularity")
        c = make_site("CH-C", serves=("alice", "cms"), container_runtime="singularity")
        d = make_site("CH-D", serves=("cms",), container_runtime="none")
        expiring = grant(a, story_day(1), story_day(30))  # expires within 30 days of D
        grant(d, story_day(1), story_day(5))  # lapses before D, still relied on
    with on(story_day(3)):
        record_step(c, "alice", "alien-to-jalien", 1)
    with on(story_day(6)):
        record_capabilities(c, {"cvmfs": "yes"})
    for n in range(1, 10):
        with on(story_day(n), hour=23):
            take_snapshot(story_day(n))

    def weeks_after():
        with on(story_day(12)):
            record_capabilities(a, {"container_runtime": "singularity"})
        with on(story_day(15)):
            renew(d.exceptions.get(), story_day(90), "Singularity delayed")
        with on(story_day(18)):
            expiring.revoked_on = story_day(18)
            expiring.save()
        with on(story_day(20)):
            rule = PolicyRule.objects.get(experiment__slug="cms", position=2)
            rule.allows_user_jobs = False
            rule.save()
        with on(story_day(25)):
            make_site("CH-E", serves=("cms", "alice"), container_runtime="apptainer")
            c.retired_on = story_day(25)
            c.save()
        with on(story_day(30)):
            record_step(Site.objects.get(name="CH-E"), "alice", "alien-to-jalien", 2)
    return weeks_after
