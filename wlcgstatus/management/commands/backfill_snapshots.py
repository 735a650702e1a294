import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wlcgstatus.snapshots import take_snapshots


class Command(BaseCommand):
    help = ("Store the daily counts the trend charts are drawn from, for every day of a range "
            "(up to today unless --until is given), rebuilt from the change history. Replaces "
            "any already taken for those days.")

    def add_arguments(self, parser):
        parser.add_argument("since", type=datetime.date.fromisoformat,
                            help="The first day, as YYYY-MM-DD.")
        parser.add_argument("--until", type=datetime.date.fromisoformat,
                            help="The last day, as YYYY-MM-DD (default: today).")

    def handle(self, *args, since: datetime.date, until: datetime.date | None, **options):
        today = timezone.localdate()
        until = until or today
        if until > today:
            raise CommandError(f"{until} is in the future: its counts are not known yet.")
        if since > until:
            raise CommandError(f"{since} is after {until}.")
        rows = take_snapshots(since, until)
        self.stdout.write(self.style.SUCCESS(
            f"Snapshots of {(until - since).days + 1} days stored ({rows} rows)."))
