import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from sites.forms import DateInput

from ..models import Report


class ReportForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = ["as_of", "since", "format"]
        labels = {"as_of": "Status as of", "since": "Changes since (the last meeting)"}
        widgets = {"as_of": DateInput(),
                   "since": DateInput(),
                   "format": forms.RadioSelect}

    def __init__(self, *args, requested_by=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.requested_by = requested_by
        self.fields["format"].choices = Report.Format.choices  # no empty “---------” radio

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of > timezone.localdate():
            raise forms.ValidationError("A report cannot be made of a day still to come.")
        return as_of

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("as_of") and cleaned["since"] >= cleaned["as_of"]:
            self.add_error("since", "The earlier day must come before the report's day.")
        if self.requested_by is not None:
            self.check_limits(self.requested_by)
        return cleaned

    def check_limits(self, user) -> None:
        """Reports take a worker for seconds to minutes each: no one keeps the queue for
        themselves, however often they click."""
        mine = Report.objects.filter(requested_by=user)
        waiting = mine.filter(status__in=[Report.Status.QUEUED, Report.Status.RUNNING]).count()
        if waiting >= settings.REPORTS_IN_PROGRESS_PER_USER:
            raise forms.ValidationError(
                f"You have {waiting} reports being made already: wait until one is done "
                f"(they are listed below), then ask for this one.")
        day_ago = timezone.now() - datetime.timedelta(days=1)
        if mine.filter(requested_at__gt=day_ago).count() >= settings.REPORTS_PER_DAY_PER_USER:
            raise forms.ValidationError(
                f"You have asked for {settings.REPORTS_PER_DAY_PER_USER} reports in the last "
                f"24 hours, the most one person may. Every report made is kept: download one "
                f"of those below, or ask again tomorrow.")
