import datetime
import json
from collections import defaultdict

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from sites.models import AssessmentChange, CapabilityValue, Site, SiteException
from sites.permissions import WG_MEMBERS
from sites.recompute import recompute
from sites.updates import record_capabilities
from wlcgstatus.snapshots import take_snapshots

DEMO_PASSWORD = "demo"
DEMO_CONTACT_SITES = ["DESY-HH", "FZK-LCG2", "GRIF"]
HISTORY = settings.FILES_DIR / "fixtures" / "demo-history.json"


class Command(BaseCommand):
    help = ("Load the WG reference data and the demo sites (real WLCG names, illustrative "
            "capability values) as they were a year ago, replay the year's reports on their "
            "days, and store the daily counts the trend charts are drawn from. Safe to run "
            "again.")

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
        history = json.loads(HISTORY.read_text())
        since = datetime.date.fromisoformat(history["since"])
        with on(since):
            call_command("loaddata", "reference", "demo", verbosity=options["verbosity"])
            stored = recompute()
            # The demo is the baseline its history starts from, not a hundred sites just joined.
            AssessmentChange.objects.filter(event=AssessmentChange.Event.STARTED).delete()
        today = timezone.localdate()
        reports = defaultdict(list)
        for report in history["reports"]:
            reports[datetime.date.fromisoformat(report["on"])].append(report)
        for day in sorted(reports.keys() | exception_days(since, today)):
            with on(day):
                recompute()  # as the nightly recomputation did: grants begin, exceptions lapse
                for report in reports[day]:
                    record_capabilities(Site.objects.get(name=report["site"]), report["values"],
                                        source=CapabilityValue.Source.DEMO)
        take_snapshots(since, today)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data loaded, {stored} assessments; {len(history['reports'])} reports "
            f"replayed from {since} and the daily counts up to {today} stored."))
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


def exception_days(since: datetime.date, today: datetime.date) -> set[datetime.date]:
    """The days after `since` on which an exception of the demo began or lapsed."""
    days = set(SiteException.objects.values_list("granted_on", flat=True))
    days |= {expires_on + datetime.timedelta(days=1) for expires_on in
             SiteException.objects.exclude(expires_on=None).values_list("expires_on", flat=True)}
    return {day for day in days if since < day <= today}


def on(day: datetime.date):
    """The clock at 9:00 UTC of that day, for what the demo says happened then."""
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(9),
                                                         tzinfo=datetime.UTC))
