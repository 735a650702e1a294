from django.core.management.base import BaseCommand, CommandError

from experiments.models import Experiment
from sites.models import Site
from sites.recompute import recompute


class Command(BaseCommand):
    help = "Recompute the stored assessments of every site (or of some sites or experiments)."

    def add_arguments(self, parser):
        parser.add_argument("--site", action="append", default=[], metavar="NAME",
                            help="Only this site (WLCG name); may be repeated.")
        parser.add_argument("--experiment", action="append", default=[], metavar="SLUG",
                            help="Only this experiment (e.g. cms); may be repeated.")

    def handle(self, *args, site: list[str], experiment: list[str], **options):
        site_ids = self._ids(Site, "name", site)
        experiment_ids = self._ids(Experiment, "slug", experiment)
        stored = recompute(sites=site_ids, experiments=experiment_ids)
        self.stdout.write(self.style.SUCCESS(f"Recomputed {stored} assessments."))

    @staticmethod
    def _ids(model, field: str, names: list[str]) -> list[int] | None:
        if not names:
            return None
        found = dict(model.objects.filter(**{f"{field}__in": names}).values_list(field, "id"))
        missing = sorted(set(names) - set(found))
        if missing:
            raise CommandError(f"Unknown {model._meta.verbose_name}: {', '.join(missing)}")
        return list(found.values())
