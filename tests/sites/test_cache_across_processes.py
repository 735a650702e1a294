"""The dashboard's cache is one for every process: what a command run from the command line
(or another web worker) writes shows on the running dashboard's pages at once. Once, each
process had a cache of its own, and the overview kept “Interim 9 / Non-compliant 7” after a
recomputation from the command line while the API said 3 / 13."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from sites.models import CapabilityValue

from ..factories.sites import make_site
from ..helpers import database_url

pytestmark = pytest.mark.django_db(transaction=True)  # the other process reads what is committed



def non_compliant_cms_sites(client) -> int:
    response = client.get("/")
    summary = next(summary for summary, _chart in response.context["cards"]
                   if summary.experiment.slug == "cms")
    return next(figure.count for figure in summary.compliance
                if figure.label == "Non-compliant")


def test_a_recomputation_from_the_command_line_shows_on_the_running_dashboard(
        reference, client, settings, tmp_path):
    # The embedded default's cache: files, which both processes use.
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path)}}
    site = make_site("CH-BARE", serves=("cms",), container_runtime="none")
    assert non_compliant_cms_sites(client) == 1
    # A change no signal sees (as a bulk import's), so the stored assessments wait for the
    # recomputation below: the page rightly keeps showing them.
    CapabilityValue.objects.filter(site=site, capability__key="container_runtime").update(
        value="apptainer")
    assert non_compliant_cms_sites(client) == 1

    subprocess.run(
        [sys.executable, "manage.py", "recompute_assessments"], check=True, capture_output=True,
        cwd=django_settings.BASE_DIR, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "wlcgstatus.settings",
             "DATABASE_URL": database_url(), "REDIS_URL": "", "CACHE_DIR": str(tmp_path)})

    assert non_compliant_cms_sites(client) == 0
