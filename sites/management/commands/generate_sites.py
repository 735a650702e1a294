from django.core.management.base import BaseCommand, CommandError

from experiments.models import Experiment
from sites.synthetic import generate_sites


class Command(BaseCommand):
    help = ("Add N synthetic sites (named SYNTH-…) with a realistic mix of tiers, countries, "
            "kinds, experiments, capabilities, exceptions, migration states and a year of "
            "history, and assess them. Needs the reference data (loaddata reference).")

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, count: int, seed: int, **options):
        if not Experiment.objects.exists():
            raise CommandError("No experiments: load the reference data first "
                               "(python manage.py loaddata reference).")
        added = generate_sites(count, seed=seed)
        self.stdout.write(self.style.SUCCESS(f"Added {added} synthetic sites."))
