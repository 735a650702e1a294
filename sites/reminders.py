"""Reminder mail: exceptions about to expire, and capabilities nobody has confirmed lately.

Sent on fixed days (30, 7 and 1 days before an expiry; on the day a site's capabilities turn
stale and every 30 days after), so a daily run reminds once per occasion with no state kept.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Max
from django.template.loader import render_to_string

from .models import EXPIRY_WARNING_DAYS, Site, SiteException
from .permissions import WG_MEMBERS

EXPIRY_REMINDER_DAYS = (EXPIRY_WARNING_DAYS, 7, 1)
STALE_REMINDER_EVERY = 30


def send_reminders(today: datetime.date) -> int:
    """Send the day's reminders; returns how many mails went out."""
    wg = list(get_user_model().objects.filter(groups__name=WG_MEMBERS, is_active=True)
              .exclude(email="").values_list("email", flat=True))
    mails = [*_expiry_mails(today, wg), *_stale_mails(today, wg)]
    with get_connection() as connection:
        return connection.send_messages(mails) or 0


def _contacts(site: Site) -> list[str]:
    return [user.email for user in site.contacts.all() if user.email and user.is_active]


def _expiry_mails(today: datetime.date, wg: list[str]) -> list[EmailMessage]:
    days = [today + datetime.timedelta(days=n) for n in EXPIRY_REMINDER_DAYS]
    exceptions = (SiteException.objects.active_on(today)
                  .filter(expires_on__in=days, site__retired_on=None)
                  .select_related("site", "experiment", "kind")
                  .prefetch_related("site__contacts"))
    mails = []
    for exception in exceptions:
        recipients = sorted(set(_contacts(exception.site)) | set(wg))
        if not recipients:
            continue
        left = (exception.expires_on - today).days
        mails.append(_mail(
            f"[WLCG isolation] {exception.site.name}: {exception.experiment.name} exception "
            f"expires in {left} day{'s' if left != 1 else ''}",
            "reminders/exception_expiring.txt",
            {"exception": exception, "days_left": left, "site_url": _url(exception.site)},
            recipients))
    return mails


def _stale_mails(today: datetime.date, wg: list[str]) -> list[EmailMessage]:
    sites = (Site.objects.filter(retired_on=None)
             .annotate(last_reported_at=Max("capability_values__reported_at"))
             .filter(last_reported_at__isnull=False).prefetch_related("contacts"))
    mails = []
    for site in sites:
        unconfirmed = (today - site.last_reported_at.date()).days
        overdue = unconfirmed - settings.CAPABILITY_CONFIRM_DAYS
        if overdue < 0 or overdue % STALE_REMINDER_EVERY:
            continue
        recipients = _contacts(site) or wg
        if recipients:
            mails.append(_mail(
                f"[WLCG isolation] Please confirm {site.name}'s capabilities",
                "reminders/capabilities_stale.txt",
                {"site": site, "days": unconfirmed, "site_url": _url(site),
                 "form_url": f"{settings.SITE_URL}/sites/{site.name}/capabilities/"},
                recipients))
    return mails


def _mail(subject: str, template: str, context: dict, recipients: list[str]) -> EmailMessage:
    return EmailMessage(subject, render_to_string(template, context), to=recipients)


def _url(site: Site) -> str:
    return f"{settings.SITE_URL}{site.get_absolute_url()}"
