from django.conf import settings
from django.utils.functional import SimpleLazyObject

from experiments.models import Experiment
from sites.cache import cached
from sites.models import CapabilityValue


def navigation(request) -> dict:
    """The experiments for the menu, whether illustrative demo data is loaded (the banner
    says so), after how many days capabilities are stale, and the day a page that can show
    the past shows (None on other pages). The first two are read on every page, yet change
    only with the WG's data: cached (sites/cache.py). Callables: a page that does not show
    them reads nothing."""
    shown = SimpleLazyObject(_shown_on_every_page)  # read once a page, when first shown
    return {
        "status_as_of": getattr(request, "as_of", None),
        "nav_experiments": lambda: shown[0],
        "illustrative_data": lambda: shown[1],
        "sso_provider": settings.OIDC_PROVIDER_NAME if settings.OIDC_RP_CLIENT_ID else "",
        "confirm_days": settings.CAPABILITY_CONFIRM_DAYS,
    }


def _shown_on_every_page() -> tuple[list[Experiment], bool]:
    return cached("every-page", lambda: (
        list(Experiment.objects.only("slug", "name")),
        CapabilityValue.objects.filter(source=CapabilityValue.Source.DEMO).exists()))
