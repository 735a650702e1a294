"""A URL naming a site, an experiment or a migration that does not exist is not found."""

import pytest
from django.test import Client


@pytest.mark.parametrize("url", [
    "/sites/NO-SUCH-SITE/", "/experiments/nope/", "/experiments/cms/migrations/nope/",
    "/experiments/nope/migrations/singularity-rollout/",
    "/experiments/atlas/migrations/singularity-rollout/",
])
def test_an_unknown_site_experiment_or_migration_is_not_found(reference, url):
    assert Client(raise_request_exception=False).get(url).status_code == 404
