import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wlcgstatus.snapshots import take_snapshot


class Command(BaseCommand):
    help = ("Store the daily snapshots from a day up to today, rebuilt from the change history "
            "(for days before the nightly task ran). Replaces any already taken.")

    def add_arguments(self, parser):
        parser.add_argument("since", type=datetime.date.fromisoformat,
                            help="The first day, as YYYY-MM-DD.")

    def handle(self, *args, since: datetime.date, **options):
        today = timezone.localdate()
        if since > today:
            raise CommandError(f"{since} is in the future.")
        day, rows = since, 0
        while day <= today:
            rows += take_snapshot(day)
            day += datetime.timedelta(days=1)
        self.stdout.write(self.style.SUCCESS(
            f"Snapshots of {(today - since).days + 1} days stored ({rows} rows)."))
