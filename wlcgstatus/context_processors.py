from django.conf import settings

from experiments.models import Experiment
from sites.models import CapabilityValue


def navigation(request) -> dict:
    """The experiments for the menu, whether illustrative demo data is loaded (the banner
    says so), and after how many days capabilities are stale. Callables: a page that does not
    show them makes no query."""
    return {
        "nav_experiments": lambda: list(Experiment.objects.only("slug", "name")),
        "illustrative_data": lambda: CapabilityValue.objects.filter(
            source=CapabilityValue.Source.DEMO).exists(),
        "sso_provider": settings.OIDC_PROVIDER_NAME if settings.OIDC_RP_CLIENT_ID else "",
        "confirm_days": settings.CAPABILITY_CONFIRM_DAYS,
    }
