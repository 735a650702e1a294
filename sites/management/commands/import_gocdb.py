from django.core.management.base import BaseCommand, CommandError

from sites.importers import SourceError, gocdb, read_text
from sites.importers.apply import describe, import_records, summary


class Command(BaseCommand):
    help = ("Update the sites from GOCDB's public site list (get_site_list), a file or a URL: "
            "adds the sites CRIC does not cover and updates countries. Closed sites are left "
            "out; GOCDB gives no tiers, federations or experiment names.")

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="PATH_OR_URL",
                            help="GOCDB's get_site_list XML: a file or a URL.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Print what would change, and change nothing.")

    def handle(self, *args, source: str, dry_run: bool, **options):
        try:
            parsed = gocdb.parse(read_text(source))
            diff = import_records(parsed.records, gocdb.SOURCE, dry_run=dry_run)
        except SourceError as error:
            raise CommandError(str(error)) from error
        for line in [*parsed.skipped, *describe(diff)]:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(summary(diff, dry_run=dry_run)))
