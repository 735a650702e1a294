"""System checks of the deployment's own settings, run by `manage.py check` and before every
command: a half-configured single sign-on would show a sign-in button that leads nowhere."""

from django.conf import settings
from django.core.checks import Error, register

# What mozilla-django-oidc needs to complete a sign-on; the keys only for signatures by key pair.
OIDC_REQUIRED = ("OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT",
                 "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT")


@register()
def single_sign_on_complete(app_configs, **kwargs) -> list[Error]:
    if not settings.OIDC_RP_CLIENT_ID:
        return []
    required = [*OIDC_REQUIRED,
                *(["OIDC_OP_JWKS_ENDPOINT"] if settings.OIDC_RP_SIGN_ALGO[:2] in ("RS", "ES")
                  else [])]
    missing = [name for name in required if not getattr(settings, name)]
    if not missing:
        return []
    return [Error(
        f"Single sign-on is half configured: OIDC_RP_CLIENT_ID is set but {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not.",
        hint="Set them from the provider's discovery document "
             "(.well-known/openid-configuration), or unset OIDC_RP_CLIENT_ID to turn single "
             "sign-on off.",
        id="wlcgstatus.E001")]
