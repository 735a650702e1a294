"""People: accounts, WG members and site contacts. The personas every test may use (site A's
and site B's contacts, a WG member) are fixtures in tests/conftest.py."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from sites.permissions import WG_MEMBERS

PASSWORD = "grid sites keep moving 42"  # every test account's


class UserFactory(factory.django.DjangoModelFactory):
    """An account that signs in with PASSWORD. `wg_member=True` puts it in the WG's group;
    `contact_for_sites=[site, ...]` makes it a contact of those sites."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def wg_member(user, create, extracted, **kwargs):
        if extracted:
            user.groups.add(Group.objects.get_or_create(name=WG_MEMBERS)[0])

    @factory.post_generation
    def contact_for_sites(user, create, extracted, **kwargs):
        if extracted:
            user.contact_for_sites.add(*extracted)
