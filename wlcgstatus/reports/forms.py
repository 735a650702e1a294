from django import forms
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
        return cleaned
