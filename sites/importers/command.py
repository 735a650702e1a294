"""What `import_cric` and `import_gocdb` share: a source's file or URL in, its diff out, the
run kept for the import runs page."""

from django.core.management.base import BaseCommand, CommandError

from sites.models import ImportRun

from .runs import run_import


class ImportCommand(BaseCommand):
    source: str  # the source's label, e.g. "CRIC"
    what: str  # what the source's answer is, for the argument's help

    def add_arguments(self, parser):
        parser.add_argument("location", metavar="PATH_OR_URL", help=f"{self.what}: a file or "
                            "a URL.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Validate and print what would change, and change nothing.")
        parser.add_argument("--allow-gone", action="store_true",
                            help="Accept the import even if it makes more than "
                                 "IMPORT_MAX_GONE_SHARE of the source's sites gone.")

    def handle(self, *args, location: str, dry_run: bool, allow_gone: bool, **options):
        run = run_import(self.source, location, trigger=ImportRun.Trigger.COMMAND,
                         dry_run=dry_run, allow_gone=allow_gone)
        if run.outcome == ImportRun.Outcome.FAILED:
            raise CommandError(run.summary)
        for line in run.lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(run.summary))
