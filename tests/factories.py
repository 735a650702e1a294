"""Factories for the sites side; the reference data comes from the `reference` fixture."""

import factory

from experiments.models import CapabilityDefinition, Experiment
from sites.models import CapabilityValue, ExperimentSite, Site

PASSWORD = "grid sites keep moving 42"  # every test account's


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"TEST-SITE-{n}")
    tier = 2
    country = "Switzerland"
    country_code = "CH"


def make_site(name: str = "", *, kind: str = "grid", serves: tuple[str, ...] = (),
              **capabilities: str) -> Site:
    """A site serving the given experiments (by slug) that reported the given capabilities."""
    site = SiteFactory(kind=kind, **({"name": name} if name else {}))
    for slug in serves:
        ExperimentSite.objects.create(site=site, experiment=Experiment.objects.get(slug=slug),
                                      name=f"{slug.upper()}_{site.name}")
    for key, value in capabilities.items():
        CapabilityValue.objects.create(
            site=site, capability=CapabilityDefinition.objects.get(key=key), value=value
        )
    return site
