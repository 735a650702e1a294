"""The policy workbench's forms: one per kind of change, and the reason every save needs."""

from django import forms

from experiments.models import (
    Compliance,
    ExceptionKind,
    Experiment,
    Migration,
    MigrationStep,
    PolicyRule,
    RuleCondition,
    Scenario,
)
from sites.forms import DateInput


class PlanForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ["plan", "framework", "credential_model"]
        widgets = {"plan": forms.Textarea(attrs={"rows": 14}),
                   "credential_model": forms.Textarea(attrs={"rows": 3})}


class RuleForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = ["summary", "site_kind", "scenario", "pilot_credentials",
                  "payload_credentials", "allows_production", "allows_user_jobs"]


class NewRuleForm(RuleForm):
    """A rule inserted at a position: the rules from there on move down one."""

    def __init__(self, *args, rule_count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"] = forms.IntegerField(
            min_value=1, max_value=rule_count + 1, initial=rule_count + 1,
            help_text="Where the rule goes: 1 is tried first; the rules from there on move "
                      "down one.")
        self.order_fields(["position"])


class SharedChoicesFormSet(forms.BaseInlineFormSet):
    """Its rows' choices of other rows (a capability, a period, scenarios) are read once for
    the formset, not once a row."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if not hasattr(self, "_shared_choices"):
            self._shared_choices = {}
        for name, field in form.fields.items():
            if isinstance(field, forms.ModelChoiceField) and not field.widget.is_hidden:
                if name not in self._shared_choices:  # iter: without a count first
                    self._shared_choices[name] = list(iter(field.choices))
                field.choices = self._shared_choices[name]
        return form


ConditionFormSet = forms.inlineformset_factory(
    PolicyRule, RuleCondition, formset=SharedChoicesFormSet, extra=2, can_delete=True,
    fields=["capability", "operator", "value"],
)


class RuleOrderForm(forms.Form):
    """Each rule's new position: together, the positions 1 to n, each once."""

    def __init__(self, *args, rules: list[PolicyRule], **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = rules
        for rule in rules:
            self.fields[f"rule_{rule.id}"] = forms.IntegerField(
                label=f"{rule.position}. {rule.summary}", initial=rule.position, min_value=1,
                max_value=len(rules))

    def clean(self):
        cleaned = super().clean()
        positions = [cleaned.get(f"rule_{rule.id}") for rule in self.rules]
        if None not in positions and sorted(positions) != list(range(1, len(self.rules) + 1)):
            raise forms.ValidationError(
                f"Give each rule a different position from 1 to {len(self.rules)}.")
        return cleaned

    def positions(self) -> dict[int, int]:
        """The new position of each rule, by id."""
        return {rule.id: self.cleaned_data[f"rule_{rule.id}"] for rule in self.rules}


class OfExperimentForm(forms.ModelForm):
    """A form for something of one experiment, named by a slug unique within it."""

    def __init__(self, *args, experiment: Experiment, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.experiment = experiment

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        others = type(self.instance).objects.filter(experiment=self.instance.experiment,
                                                    slug=slug)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"{self.instance.experiment} already has one named "
                                        f"“{slug}”: choose another.")
        return slug


class ExceptionKindForm(OfExperimentForm):
    class Meta:
        model = ExceptionKind
        fields = ["name", "slug", "description", "scenario", "pilot_credentials",
                  "payload_credentials", "allows_production", "allows_user_jobs",
                  "requires_expiry", "max_months", "applies_to"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class MigrationForm(OfExperimentForm):
    class Meta:
        model = Migration
        fields = ["name", "slug", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


StepFormSet = forms.inlineformset_factory(
    Migration, MigrationStep, formset=SharedChoicesFormSet, extra=1, can_delete=True,
    fields=["position", "name", "target_date", "target_period", "capability", "operator",
            "value", "done_in"],
    widgets={"target_date": DateInput(), "done_in": forms.CheckboxSelectMultiple},
)


class ScenarioForm(forms.ModelForm):
    class Meta:
        model = Scenario
        fields = ["name", "slug", "short_name", "compliance", "colour", "description",
                  "payload_isolated", "pilot_credentials", "payload_credentials", "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}),
                   "colour": forms.TextInput(attrs={"type": "color"})}


class SaveForm(forms.Form):
    """What a save needs besides the change: why."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Kept with the revision: why the WG made this change.")


class ChangeFilter(forms.Form):
    """Narrows the dry run's list of changed sites, as the sites table's filters do."""

    q = forms.CharField(label="Site or country", required=False)
    experiment = forms.ModelChoiceField(Experiment.objects.all(), required=False,
                                        to_field_name="slug", empty_label="any experiment")
    compliance = forms.ChoiceField(label="Becomes", required=False,
                                   choices=[("", "any class"), *Compliance.choices])

    def __init__(self, *args, by_class: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not by_class:  # a migration's dry run: its sites change progress, not class
            del self.fields["experiment"], self.fields["compliance"]

    def matches(self, change) -> bool:
        data = self.cleaned_data if self.is_valid() else {}
        text = (data.get("q") or "").strip().lower()
        return ((not text or text in change.site_name.lower() or text in change.country.lower())
                and (not data.get("experiment") or change.experiment == data["experiment"])
                and (not data.get("compliance") or change.new_compliance == data["compliance"]))
