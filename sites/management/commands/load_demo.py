from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from sites.models import AssessmentChange, Site
from sites.permissions import WG_MEMBERS
from sites.recompute import recompute

DEMO_PASSWORD = "demo"
DEMO_CONTACT_SITES = ["DESY-HH", "FZK-LCG2", "GRIF"]


class Command(BaseCommand):
    help = ("Load the WG reference data and the demo sites (real WLCG names, illustrative "
            "capability values) and compute their assessments. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts", action="store_true",
            help=f"Also create the demo accounts “wg” (a WG member) and “contact” (contact "
                 f"of {', '.join(DEMO_CONTACT_SITES)}), password “{DEMO_PASSWORD}”. For a "
                 "local demo only.")
        parser.add_argument("--if-empty", action="store_true",
                            help="Only into a database without sites, so that restarting the "
                                 "demo keeps what was changed in it.")

    def handle(self, *args, accounts: bool, if_empty: bool, **options):
        if if_empty and Site.objects.exists():
            self.stdout.write("The database has sites already: the demo data is not loaded.")
            return
        call_command("loaddata", "reference", "demo", verbosity=options["verbosity"])
        loaded_at = timezone.now()
        stored = recompute()
        # The demo is the baseline its history starts from, not a hundred sites just joined.
        AssessmentChange.objects.filter(event=AssessmentChange.Event.STARTED,
                                        changed_at__gte=loaded_at).delete()
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded, {stored} assessments."))
        if accounts:
            self.create_accounts()

    def create_accounts(self) -> None:
        users = get_user_model()
        wg, _ = users.objects.get_or_create(username="wg", defaults={
            "first_name": "Wanda", "last_name": "Member", "email": "wg@example.org"})
        wg.groups.add(Group.objects.get(name=WG_MEMBERS))
        contact, _ = users.objects.get_or_create(username="contact", defaults={
            "first_name": "Sam", "last_name": "Contact", "email": "contact@example.org"})
        for user in (wg, contact):
            user.set_password(DEMO_PASSWORD)
            user.save()
        for site in Site.objects.filter(name__in=DEMO_CONTACT_SITES):
            site.contacts.add(contact)
        self.stdout.write(f"Demo accounts: wg and contact, password “{DEMO_PASSWORD}”.")
