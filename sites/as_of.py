"""The day a page shows the status of. Pages that can show the past take `?as_of=YYYY-MM-DD`
and show the status at the end of that day, rebuilt from the recorded history; without it,
or with today or a later day, they show the present. The header's date control sets it, a
banner says it is set, and links from such a page keep it (static/as_of.js)."""

from __future__ import annotations

import datetime
import functools

from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

PARAMETER = "as_of"
# Before WLCG (2002) there is no status to rebuild; an earlier day shows this one, which keeps
# the day's arithmetic (a year back, for stale reports) within the calendar.
EARLIEST = datetime.date(2000, 1, 1)


class AsOf:
    """What a request asks of time: `day` is the past day to show, or None for the present;
    `problem` says why a value given was not taken as it is: not a day (`malformed`), one
    still to come (the present is the nearest to it there is), or one before EARLIEST."""

    def __init__(self, value: str | None, today: datetime.date):
        self.day, self.problem, self.malformed = None, "", False
        if not value:
            return
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            self.problem, self.malformed = f"“{value}” is not a day: give it as YYYY-MM-DD.", True
            return
        if day > today:
            self.problem = f"{date_format(day, 'j F Y')} is still to come."
        elif day < EARLIEST:
            self.day = EARLIEST
            self.problem = (f"{date_format(day, 'j F Y')} is before any record: showing "
                            f"{date_format(EARLIEST, 'j F Y')}.")
        elif day < today:
            self.day = day

    def __bool__(self) -> bool:
        return self.day is not None

    def __str__(self) -> str:
        return self.day.isoformat() if self.day else ""


def shows_status_as_of(view):
    """Marks a view as one that shows the status as of a past day: it reads `request.as_of`
    (an AsOf), and the page offers the header's date control."""
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        request.as_of = AsOf(request.GET.get(PARAMETER), timezone.localdate())
        request.as_of.today_url = today_url(request)
        return view(request, *args, **kwargs)
    wrapper.shows_past_days = True  # wlcgstatus/pages.py measures it as of a past day too
    return wrapper


def day_of(request: HttpRequest) -> datetime.date:
    """The day the request's page shows: the past day asked for, or today."""
    as_of = getattr(request, "as_of", None)
    return as_of.day if as_of else timezone.localdate()


def today_url(request: HttpRequest) -> str:
    """The same page, with its other parameters, today: the banner's way back (from the
    first page of a list, which may be shorter today)."""
    query = request.GET.copy()
    for name in (PARAMETER, "page"):
        query.pop(name, None)
    return f"{request.path}?{query.urlencode()}" if query else request.path
