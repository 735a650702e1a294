"""Exceptions the WG grants a site, and their renewals."""

import datetime

from experiments.models import ExceptionKind
from sites.models import Site, SiteException


def grant(site: Site, granted_on: datetime.date, expires_on: datetime.date | None, *,
          revoked_on: datetime.date | None = None, experiment: str = "cms",
          reason: str = "Deploying Singularity", granted_by: str = "WG") -> SiteException:
    """The experiment's exception kind granted to the site, as the WG grants it."""
    kind = ExceptionKind.objects.select_related("experiment").get(experiment__slug=experiment,
                                                                  applies_to="")
    return SiteException.objects.create(
        site=site, experiment=kind.experiment, kind=kind, reason=reason, granted_by=granted_by,
        granted_on=granted_on, expires_on=expires_on, revoked_on=revoked_on)


def renew(exception: SiteException, expires_on: datetime.date, why: str) -> None:
    """A later expiry, with the reason the history records."""
    exception.expires_on = expires_on
    exception._change_reason = why
    exception.save()
