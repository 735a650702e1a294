from django import forms
from django.utils import timezone

from sites.forms import DateInput


class PeriodForm(forms.Form):
    """The period /changes/ sums up, as a report's “changes since” does: what changed after
    the end of `since`, up to the end of `until` (today unless given)."""

    since = forms.DateField(label="Changes since", widget=DateInput(),
                            help_text="e.g. the day of the last meeting")
    until = forms.DateField(label="up to", required=False, widget=DateInput(),
                            help_text="blank: today")

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until and until > timezone.localdate():
            raise forms.ValidationError("This day is still to come.")
        return until

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until") or timezone.localdate()
        if since and since >= until:
            self.add_error("since", "The earlier day must come before the later one.")
        return cleaned
