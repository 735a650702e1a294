import datetime

from django import forms
from django.utils import timezone

from experiments.capabilities import NO, YES, CapabilityKind
from experiments.models import CapabilityDefinition, Migration, MigrationStep

from .models import SiteException, too_long

NOT_REPORTED = ("", "not reported")


class DateInput(forms.DateInput):
    """The browser's date picker, which wants ISO dates whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CapabilityForm(forms.Form):
    """One field per capability definition: a new definition appears without code changes."""

    values_token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, definitions: list[CapabilityDefinition], **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = {definition.key: definition for definition in definitions}
        for definition in definitions:
            self.fields[definition.key] = capability_field(definition)

    def capability_fields(self):
        return [self[key] for key in self.definitions]

    def clean(self):
        cleaned = super().clean()
        for key, definition in self.definitions.items():
            needed = definition.only_with
            if not cleaned.get(key) or needed is None or needed.key not in self.definitions:
                continue
            if needed.is_absence(cleaned.get(needed.key, "")):
                self.add_error(key, f"{definition.name} needs a {needed.name.lower()}: "
                                    f"report the {needed.name.lower()} or clear this field.")
        return cleaned

    def values(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key, "") for key in self.definitions}


def capability_field(definition: CapabilityDefinition) -> forms.Field:
    common = {"label": definition.name, "help_text": definition.help_text, "required": False}
    match definition.kind:
        case CapabilityKind.YES_NO:
            return forms.ChoiceField(choices=[(YES, "yes"), (NO, "no"), NOT_REPORTED],
                                     widget=forms.RadioSelect, **common)
        case CapabilityKind.CHOICE:
            return forms.ChoiceField(
                choices=[(choice, choice) for choice in definition.choices] + [NOT_REPORTED],
                widget=forms.RadioSelect, **common)
        case _:
            return forms.CharField(max_length=100, validators=[definition.validate_value],
                                   widget=forms.TextInput(attrs={"placeholder": "e.g. 3.8.7"}),
                                   **common)


class FutureExpiryMixin:
    def clean_expires_on(self) -> datetime.date:
        expires_on = self.cleaned_data["expires_on"]
        if expires_on and expires_on <= timezone.localdate():
            raise forms.ValidationError("The expiry must be after today.")
        return expires_on


class GrantExceptionForm(FutureExpiryMixin, forms.ModelForm):
    class Meta:
        model = SiteException
        fields = ["experiment", "kind", "reason", "expires_on"]
        widgets = {"expires_on": DateInput(),
                   "reason": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.site = site
        served = site.experiment_sites.values("experiment")
        self.fields["experiment"].queryset = self.fields["experiment"].queryset.filter(
            id__in=served)
        # A standing exception applies by itself: there is nothing to grant.
        self.fields["kind"].queryset = self.fields["kind"].queryset.filter(
            experiment__in=served, applies_to="").select_related("experiment")


class RenewExceptionForm(FutureExpiryMixin, forms.Form):
    expires_on = forms.DateField(label="New expiry", widget=DateInput())
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why it is renewed; kept in the history.")

    def __init__(self, *args, exception: SiteException, **kwargs):
        super().__init__(*args, **kwargs)
        self.exception = exception

    def clean_expires_on(self) -> datetime.date:
        expires_on = super().clean_expires_on()
        if self.exception.expires_on and expires_on <= self.exception.expires_on:
            raise forms.ValidationError(
                f"A renewal must end after the current expiry, {self.exception.expires_on}.")
        latest = self.exception.kind.latest_expiry(timezone.localdate())
        if latest and expires_on > latest:
            raise forms.ValidationError(too_long(self.exception.kind, latest))
        return expires_on


class ProgressForm(forms.Form):
    """A WG member records by hand how far a site has come in a migration no report shows."""

    completed_step = forms.ModelChoiceField(
        queryset=MigrationStep.objects.none(), required=False, label="Last step completed",
        empty_label="none yet (not started)")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="How the WG knows; kept in the history.")

    def __init__(self, *args, migration: Migration, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["completed_step"].queryset = migration.steps.all()


class RevokeExceptionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why it is revoked; kept in the history.")


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Name",
        help_text="What will use it, e.g. “capability probe on ce01.example.org”.")
