"""Writers at the same moment, as gunicorn's workers and threads send them: each waits its
turn and every write lands. On the embedded SQLite default, half of them once failed with
“database is locked”."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import requests

from sites.models import CapabilityValue, SiteToken

from ..factories.accounts import UserFactory
from ..factories.sites import make_site

WRITERS = 16


def test_simultaneous_reports_through_the_api_all_land(live_server, reference):
    sites = [make_site(f"BUSY-{n}", serves=("cms", "atlas"), container_runtime="none")
             for n in range(WRITERS // 2)]
    contact = UserFactory(username="busy", contact_for_sites=sites)
    # Two tokens per site: two probes of a site may report at once too.
    writes = [(site.name, SiteToken.issue(site, f"probe {n}", contact)[1], version)
              for site in sites for n, version in enumerate(("1.3.1", "1.3.2"))]
    start = Barrier(len(writes))

    def report(write) -> int:
        name, key, version = write
        start.wait()  # all at once
        return requests.post(
            f"{live_server.url}/api/sites/{name}/capabilities/",
            json={"values": {"container_runtime": "apptainer",
                             "container_runtime_version": version}},
            headers={"Authorization": f"Token {key}"}, timeout=60).status_code

    with ThreadPoolExecutor(len(writes)) as pool:
        statuses = list(pool.map(report, writes))

    assert statuses == [200] * len(writes)
    for site in sites:
        values = dict(CapabilityValue.objects.filter(site=site).values_list(
            "capability__key", "value"))
        assert values["container_runtime"] == "apptainer"
        assert values["container_runtime_version"] in ("1.3.1", "1.3.2")
        # Both reports are in the history, one after the other.
        assert CapabilityValue.history.filter(
            site_id=site.pk, capability__key="container_runtime_version").count() >= 2
