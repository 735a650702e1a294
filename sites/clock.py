"""Stored assessments and the clock: an assessment that rests on an exception holds until its
expiry, one that a grant not yet in force will change holds until the day before. Whatever
reads them (a request, a report) first recomputes those the clock has overtaken, whether or not
the nightly task has run, so that nothing shows an exception a day past its expiry."""

from __future__ import annotations

import datetime

from django.db.models import Min

from .cache import read, write
from .models import Assessment
from .recompute import assessments_recomputed, recompute

# The earliest day any stored assessment holds until, kept by every recomputation: reading it
# costs no query, so a request pays nothing on the days nothing lapses.
VALID_UNTIL_KEY = "assessments:valid-until"
NEVER = datetime.date.max


def recompute_overtaken(today: datetime.date) -> int:
    """Recompute the assessments the clock has overtaken by `today`; returns how many were
    stored. Nearly always none."""
    earliest = read(VALID_UNTIL_KEY)
    if earliest is None:  # lost, or a cache that cannot be reached: ask the database
        earliest = remember_valid_until()
    if earliest >= today:
        return 0
    sites = (Assessment.objects.filter(valid_until__lt=today)
             .values_list("site_id", flat=True).distinct())
    return recompute(sites=list(sites), today=today)  # which remembers the new earliest day


def remember_valid_until(**kwargs) -> datetime.date:
    earliest = Assessment.objects.aggregate(Min("valid_until"))["valid_until__min"] or NEVER
    write(VALID_UNTIL_KEY, earliest, None)
    return earliest


def connect() -> None:
    assessments_recomputed.connect(remember_valid_until, dispatch_uid="assessments-valid-until")
