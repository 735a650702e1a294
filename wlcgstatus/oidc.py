"""Single sign-on with an OpenID Connect provider (CERN SSO and WLCG IAM are both OIDC),
through mozilla-django-oidc, with the provider's groups mapped to the dashboard's roles:

- a group in OIDC_WG_GROUPS makes the user a WG member (and leaving it, no longer one);
- a group OIDC_SITE_CONTACT_PREFIX + a site's WLCG name makes the user a contact of it (and
  leaving it, no longer one, unless a WG member made them one by hand);
- a user with no mapped group is signed in and reads, like anyone.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from sites.models import Site, SiteContact
from sites.permissions import WG_MEMBERS


class GroupMappingBackend(OIDCAuthenticationBackend):
    def create_user(self, claims):
        user = self.UserModel.objects.create_user(
            username=claims.get("preferred_username") or claims["email"],
            email=claims["email"])
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        user.first_name = claims.get("given_name", user.first_name)
        user.last_name = claims.get("family_name", user.last_name)
        user.email = claims.get("email", user.email)
        user.save()
        apply_roles(user, claims.get(settings.OIDC_GROUPS_CLAIM) or [])
        return user


def apply_roles(user, groups: list[str]) -> None:
    wg = Group.objects.get(name=WG_MEMBERS)
    if set(groups) & set(settings.OIDC_WG_GROUPS):
        user.groups.add(wg)
    else:
        user.groups.remove(wg)
    prefix = settings.OIDC_SITE_CONTACT_PREFIX
    names = [group[len(prefix):] for group in groups if prefix and group.startswith(prefix)]
    asserted = list(Site.objects.filter(name__in=names))
    for site in asserted:  # a contact made one by hand stays one by hand
        site.contacts.add(user, through_defaults={"granted": SiteContact.Granted.BY_SIGN_ON})
    # The provider's groups are the truth for what sign-on granted: a role it no longer
    # asserts goes, and with it the right of the user's tokens for that site to report.
    (SiteContact.objects.filter(user=user, granted=SiteContact.Granted.BY_SIGN_ON)
     .exclude(site__in=asserted).delete())
