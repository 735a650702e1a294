"""Site API tokens on the wire: `Authorization: Token <key>`. A token reports for its own site
only, and only while the person who made it may still edit that site."""

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from sites.models import SiteToken
from sites.permissions import can_edit_site


class SiteTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # no token: the permission answers 401
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as the header “Authorization: Token <key>”.")
        try:
            key = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.") from None
        token = SiteToken.for_key(key)
        if token is None or not token.created_by.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        token.last_used_at = timezone.now()
        SiteToken.objects.filter(pk=token.pk).update(last_used_at=token.last_used_at)
        return token.created_by, token

    def authenticate_header(self, request) -> str:
        return self.keyword  # so that a request without a token gets 401, not 403


class HoldsTokenOfThisSite(permissions.BasePermission):
    """The request carries a token of the site named in the URL, made by someone who may still
    edit that site (a contact who has left the site no longer reports for it)."""

    message = "Send an API token of this site."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, SiteToken):
            return False
        if token.site.name != view.kwargs.get("name"):
            self.message = f"This token is for {token.site.name}; it reports for no other site."
            return False
        if not can_edit_site(token.created_by, token.site):
            self.message = (f"{token.created_by.get_username()}, who made this token, may no "
                            f"longer edit {token.site.name}: ask a contact of the site for a "
                            f"new token.")
            return False
        return True


class ReadAccess(permissions.BasePermission):
    """Anyone reads, unless READ_REQUIRES_LOGIN: then only signed-in users, as on the dashboard
    (DRF's views are exempt from Django's LoginRequiredMiddleware, so they check for
    themselves)."""

    def has_permission(self, request, view) -> bool:
        return not settings.READ_REQUIRES_LOGIN or bool(request.user
                                                        and request.user.is_authenticated)
