from django.core.management import call_command
from django.core.management.base import BaseCommand

from sites.recompute import recompute


class Command(BaseCommand):
    help = ("Load the WG reference data and the demo sites (real WLCG names, illustrative "
            "capability values) and compute their assessments. Safe to run again.")

    def handle(self, *args, **options):
        call_command("loaddata", "reference", "demo", verbosity=options["verbosity"])
        stored = recompute()
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded, {stored} assessments."))
