"""Stored assessments and the clock: an assessment that rests on an exception holds until its
expiry, one that a grant not yet in force will change holds until the day before. Whatever
reads them (a request, a report) first recomputes those the clock has overtaken, whether or not
the nightly task has run, so that nothing shows an exception a day past its expiry."""

from __future__ import annotations

import datetime
import logging

from django.core.cache import cache
from django.db.models import Min

from .models import Assessment
from .recompute import assessments_recomputed, recompute

logger = logging.getLogger(__name__)
# The earliest day any stored assessment holds until, kept by every recomputation: reading it
# costs no query, so a request pays nothing on the days nothing lapses.
VALID_UNTIL_KEY = "assessments:valid-until"
NEVER = datetime.date.max


def recompute_overtaken(today: datetime.date) -> int:
    """Recompute the assessments the clock has overtaken by `today`; returns how many were
    stored. Nearly always none."""
    try:
        earliest = cache.get(VALID_UNTIL_KEY)
    except Exception as error:  # a cache that cannot be reached: ask the database
        logger.warning("Cache unavailable: %s", error)
        earliest = None
    if earliest is None:
        earliest = remember_valid_until()
    if earliest >= today:
        return 0
    sites = (Assessment.objects.filter(valid_until__lt=today)
             .values_list("site_id", flat=True).distinct())
    return recompute(sites=list(sites), today=today)  # which remembers the new earliest day


def remember_valid_until(**kwargs) -> datetime.date:
    earliest = Assessment.objects.aggregate(Min("valid_until"))["valid_until__min"] or NEVER
    try:
        cache.set(VALID_UNTIL_KEY, earliest, None)
    except Exception as error:
        logger.warning("Cache unavailable: %s", error)
    return earliest


def connect() -> None:
    assessments_recomputed.connect(remember_valid_until, dispatch_uid="assessments-valid-until")
