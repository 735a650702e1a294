"""Who may change what. WG members hold model permissions through their group; a site
contact may edit the sites they are a contact of, and nothing else."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

from .models import Site

WG_MEMBERS = "WG members"
WG_APPS = ("experiments", "sites")


def can_edit_site(user: AbstractBaseUser | AnonymousUser, site: Site) -> bool:
    if not user.is_authenticated:
        return False
    return user.has_perm("sites.change_site") or site.contacts.filter(pk=user.pk).exists()


def is_wg_member(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_superuser or user.groups.filter(name=WG_MEMBERS).exists()


def can_manage_exceptions(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.has_perm("sites.change_siteexception")


def ensure_wg_group(**kwargs) -> None:
    """After every migrate: the WG members' group may add, change and delete all of the WG's
    reference data and all site data."""
    group, _ = Group.objects.get_or_create(name=WG_MEMBERS)
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=WG_APPS))
