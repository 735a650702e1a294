from django.core.management.base import BaseCommand, CommandError

from sites.importers import SourceError, cric, read_text
from sites.importers.apply import describe, import_records, summary


class Command(BaseCommand):
    help = ("Update the sites from WLCG CRIC's resource-centre JSON (/api/core/rcsite/query/"
            "?json), a file or a URL: tiers, countries, federations and the experiments' own "
            "names. Sites missing from CRIC are listed, not deleted.")

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="PATH_OR_URL", help="CRIC's JSON: a file or a URL.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Print what would change, and change nothing.")

    def handle(self, *args, source: str, dry_run: bool, **options):
        try:
            parsed = cric.parse(read_text(source))
            diff = import_records(parsed.records, cric.SOURCE, dry_run=dry_run)
        except SourceError as error:
            raise CommandError(str(error)) from error
        for line in [*parsed.skipped, *describe(diff)]:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(summary(diff, dry_run=dry_run)))
