"""The policy workbench: WG members change an experiment's plan, rules and exception kinds,
and the scenarios, in the dashboard. Every change is first tried on the whole fleet (the dry
run: what it would do, site by site, nothing written); saving it needs a reason and makes a
numbered revision of each experiment's policy it changes."""

from __future__ import annotations

import hashlib
import json

from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from tablib import Dataset

from experiments import revisions
from experiments.models import (
    ExceptionKind,
    Experiment,
    Migration,
    MigrationStep,
    PolicyRule,
    Scenario,
)
from sites.dry_run import progress_dry_run
from sites.permissions import is_wg_member
from sites.signals import note_policy_change, policy_recomputed_once

from .drafts import Draft
from .forms import (
    ChangeFilter,
    ConditionFormSet,
    ExceptionKindForm,
    MigrationForm,
    NewRuleForm,
    PlanForm,
    RuleForm,
    RuleOrderForm,
    SaveForm,
    ScenarioForm,
    StepFormSet,
)

CHANGES_SHOWN = 200  # the export has them all
# The entries that are not the change itself: the dry run's fingerprint leaves them out.
NOT_THE_CHANGE = ("csrfmiddlewaretoken", "action", "save-", "show-")


class PolicyChangeView(UserPassesTestMixin, View):
    """One change to the policy: its forms (`get_forms`), what it would make of the policy
    (`apply_to`, on a draft) and its saving (`save`). GET shows the forms; POST with
    action=dry-run shows the dry run too, action=export gives the dry run's changed sites as
    CSV, action=save saves what the dry run shown was of, with the reason given."""

    template_name = "workbench/change.html"
    dry_run_template = "workbench/_policy_dry_run.html"
    changes_class = True  # the dry run's sites change compliance class (a migration's: no)
    rows_legend = "Conditions: the rule holds where all of them hold"  # of a formset's rows
    rows_help = "For “is one of”, separate the values with commas."
    permission_denied_message = "Only WG members change the policy."
    title = ""

    def test_func(self) -> bool:
        return is_wg_member(self.request.user)

    def experiments(self) -> list[Experiment]:
        """The experiments whose policy the change touches."""
        raise NotImplementedError

    def get_forms(self, data=None) -> list:
        raise NotImplementedError

    def apply_to(self, draft: Draft, forms: list) -> None:
        raise NotImplementedError

    def save(self, forms: list, reason: str) -> None:
        raise NotImplementedError

    def done_url(self) -> str:
        raise NotImplementedError

    def get(self, request, **kwargs):
        return self.page(self.get_forms())

    def post(self, request, **kwargs):
        forms = self.get_forms(request.POST)
        if not all(form.is_valid() for form in forms):
            return self.page(forms)
        fingerprint = _fingerprint(request.POST)
        action = request.POST.get("action")
        saving = SaveForm(request.POST if action == "save" else None, prefix="save")
        if action == "save" and saving.is_valid():
            if request.POST.get("save-fingerprint") == fingerprint:
                return self.save_and_record(forms, saving.cleaned_data["reason"])
            saving.add_error(None, "The entries changed after the dry run was made of them: "
                                   "check the dry run below, then save again.")
        result = self.try_out(forms)
        shown = ChangeFilter(request.POST, prefix="show", by_class=self.changes_class)
        changes = [change for change in result.changes if shown.matches(change)]
        if action == "export":
            return self.export(changes)
        return self.page(forms, result=result, changes=changes[:CHANGES_SHOWN],
                         filtered=len(changes), shown=shown, saving=saving,
                         fingerprint=fingerprint)

    def try_out(self, forms: list):
        """The dry run of the change: the policy as stored, with the change applied."""
        draft = Draft.stored(self.experiments())
        self.apply_to(draft, forms)
        return draft.dry_run()

    def export(self, changes: list):
        """The changed sites (those filtered) as CSV."""
        dataset = Dataset(headers=list(type(changes[0]).CSV_HEADERS) if changes else [],
                          title="Dry run")
        for change in changes:
            dataset.append(change.csv_row())
        name = "-".join(experiment.slug for experiment in self.experiments())
        response = HttpResponse(dataset.export("csv"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="dry-run-{name}.csv"'
        return response

    def save_and_record(self, forms: list, reason: str):
        user = self.request.user
        with transaction.atomic(), policy_recomputed_once():
            self.save(forms, reason)
            stored = Draft.stored(self.experiments())
            made = [revision for experiment in self.experiments()
                    if (revision := revisions.record(experiment, stored.snapshot(experiment),
                                                     reason, user))]
            for revision in made:  # its assessments name it: recomputed once, after commit
                note_policy_change(revision.experiment_id)
        messages.success(self.request, "Saved as " + ", ".join(map(str, made)) + "."
                         if made else "Saved.")
        return redirect(self.done_url())

    def page(self, forms: list, **context):
        return render(self.request, self.template_name, {
            "title": self.title, "experiment": getattr(self, "experiment", None),
            "forms": forms, "back_url": self.done_url(),
            "dry_run_template": self.dry_run_template, "rows_legend": self.rows_legend,
            "rows_help": self.rows_help, **context})


class ExperimentChangeView(PolicyChangeView):
    """A change to one experiment's policy (`slug` in the URL)."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.experiment = get_object_or_404(Experiment, slug=kwargs["slug"])

    def experiments(self):
        return [self.experiment]

    def done_url(self):
        return self.experiment.get_absolute_url()


class PlanView(ExperimentChangeView):
    def get_forms(self, data=None):
        self.title = f"{self.experiment.name}: plan"
        return [PlanForm(data, instance=self.experiment)]

    def apply_to(self, draft, forms):
        draft.experiments = [forms[0].instance]

    def save(self, forms, reason):
        forms[0].instance._change_reason = reason
        forms[0].save()


class RuleView(ExperimentChangeView):
    """A rule changed: what it says, its scenario and workloads, and its conditions."""

    def get_forms(self, data=None):
        self.rule = get_object_or_404(PolicyRule.objects.select_related("scenario"),
                                      experiment=self.experiment,
                                      position=self.kwargs["position"])
        self.title = f"{self.experiment.name}: rule {self.rule.position}"
        return [RuleForm(data, instance=self.rule),
                ConditionFormSet(data, instance=self.rule, prefix="conditions")]

    def apply_to(self, draft, forms):
        rule, conditions = forms
        draft.replace_rule(rule.instance, [form.instance for form in _kept(conditions)])

    def save(self, forms, reason):
        rule, conditions = forms
        rule.instance._change_reason = reason
        rule.save()
        conditions.save()


class NewRuleView(ExperimentChangeView):
    """A rule added at a position: those from there on move down one."""

    def get_forms(self, data=None):
        self.title = f"{self.experiment.name}: a new rule"
        rule = PolicyRule(experiment=self.experiment)
        return [NewRuleForm(data, instance=rule, rule_count=self.experiment.rules.count()),
                ConditionFormSet(data, instance=rule, prefix="conditions")]

    def apply_to(self, draft, forms):
        rule, conditions = forms
        position = rule.cleaned_data["position"]
        for other in draft.rules:
            if other.experiment_id == self.experiment.id and other.position >= position:
                other.position += 1
        rule.instance.position = position
        draft.replace_rule(rule.instance, [form.instance for form in _kept(conditions)])

    def save(self, forms, reason):
        rule, conditions = forms
        position = rule.cleaned_data["position"]
        # From the last up, so that no two rules ever hold one position.
        for other in self.experiment.rules.filter(position__gte=position).order_by("-position"):
            other.position += 1
            other._change_reason = reason
            other.save()
        rule.instance.position = position
        rule.instance._change_reason = reason
        rule.save()
        conditions.instance = rule.instance
        conditions.save()


class RemoveRuleView(ExperimentChangeView):
    """A rule removed: those after it move up one."""

    def get_forms(self, data=None):
        self.rule = get_object_or_404(PolicyRule, experiment=self.experiment,
                                      position=self.kwargs["position"])
        self.title = f"{self.experiment.name}: remove rule {self.rule.position}, " \
                     f"“{self.rule.summary}”"
        return []

    def apply_to(self, draft, forms):
        draft.remove_rule(self.rule.id)
        for other in draft.rules:
            if other.experiment_id == self.experiment.id and other.position > self.rule.position:
                other.position -= 1

    def save(self, forms, reason):
        self.rule._change_reason = reason
        self.rule.delete()
        for other in self.experiment.rules.filter(position__gt=self.rule.position) \
                .order_by("position"):
            other.position -= 1
            other._change_reason = reason
            other.save()


class RuleOrderView(ExperimentChangeView):
    def get_forms(self, data=None):
        self.title = f"{self.experiment.name}: the order of the rules"
        return [RuleOrderForm(data, rules=list(self.experiment.rules.all()))]

    def apply_to(self, draft, forms):
        for rule_id, position in forms[0].positions().items():
            draft.rule(rule_id).position = position

    def save(self, forms, reason):
        positions = forms[0].positions()
        # Out of the way first (unrecorded), so that no two rules ever hold one position.
        self.experiment.rules.update(position=F("position") + len(positions) + 1000)
        for rule in self.experiment.rules.all():
            rule.position = positions[rule.id]
            rule._change_reason = reason
            rule.save()


class ExceptionKindView(ExperimentChangeView):
    """An exception kind added (no `kind` in the URL) or changed."""

    def get_forms(self, data=None):
        kind = (get_object_or_404(ExceptionKind, experiment=self.experiment,
                                  slug=self.kwargs["kind"])
                if "kind" in self.kwargs else ExceptionKind(experiment=self.experiment))
        self.title = (f"{self.experiment.name}: {kind.name}" if kind.pk
                      else f"{self.experiment.name}: a new exception kind")
        return [ExceptionKindForm(data, instance=kind, experiment=self.experiment)]

    def apply_to(self, draft, forms):
        draft.replace_kind(forms[0].instance)

    def save(self, forms, reason):
        forms[0].instance._change_reason = reason
        forms[0].save()


class ScenarioView(PolicyChangeView):
    """A scenario added (no `slug` in the URL) or changed: its compliance class counts in
    every experiment's figures."""

    def experiments(self):
        return list(Experiment.objects.all())

    def get_forms(self, data=None):
        scenario = (get_object_or_404(Scenario, slug=self.kwargs["slug"])
                    if "slug" in self.kwargs else Scenario())
        self.title = f"Scenario: {scenario.name}" if scenario.pk else "A new scenario"
        return [ScenarioForm(data, instance=scenario)]

    def apply_to(self, draft, forms):
        draft.replace_scenario(forms[0].instance)

    def save(self, forms, reason):
        forms[0].instance._change_reason = reason
        forms[0].save()

    def done_url(self):
        return reverse("scenario_list")


class MigrationView(ExperimentChangeView):
    """A migration added (no `migration` in the URL) or changed, with its steps: their
    names, targets, and how each is done (derived by a condition or scenarios, or recorded
    by hand). Its dry run is of the sites' progress."""

    dry_run_template = "workbench/_progress_dry_run.html"
    changes_class = False
    rows_legend = "Steps, in order"
    rows_help = ("A step is derived where it names a capability's value or scenarios to be "
                 "assessed in; with neither, WG members record it site by site. A target is a "
                 "day or an LHC period, not both.")

    def get_forms(self, data=None):
        migration = (get_object_or_404(Migration, experiment=self.experiment,
                                       slug=self.kwargs["migration"])
                     if "migration" in self.kwargs else Migration(experiment=self.experiment))
        self.title = (f"{self.experiment.name}: {migration.name}" if migration.pk
                      else f"{self.experiment.name}: a new migration")
        return [MigrationForm(data, instance=migration, experiment=self.experiment),
                StepFormSet(data, instance=migration, prefix="steps")]

    def try_out(self, forms):
        migration, steps = forms
        proposed = []
        for form in _kept(steps):
            form.instance.draft_done_in = {scenario.id for scenario
                                           in form.cleaned_data.get("done_in", ())}
            proposed.append(form.instance)
        return progress_dry_run(migration.instance, proposed)

    def save(self, forms, reason):
        migration, steps = forms
        migration.instance._change_reason = reason
        migration.save()
        # Steps trading positions: out of the way first (unrecorded), so that no two ever
        # hold one position.
        MigrationStep.objects.filter(pk__in=[
            form.instance.pk for form in steps.initial_forms if "position" in form.changed_data
        ]).update(position=F("position") + 1000)
        for form in steps.forms:
            form.instance._change_reason = reason
        steps.instance = migration.instance
        steps.save()
        # Progress follows from the steps: derived anew, after the commit.
        note_policy_change(self.experiment.id)

    def done_url(self):
        if "migration" in self.kwargs:
            return reverse("migration_detail", args=[self.experiment.slug,
                                                     self.kwargs["migration"]])
        return self.experiment.get_absolute_url()


def _kept(formset) -> list:
    """The rows of a valid formset that stay: not deleted nor left empty."""
    return [form for form in formset.forms if form not in formset.deleted_forms
            and (form.instance.pk is not None or form.has_changed())]


def _fingerprint(data) -> str:
    """The change's entries, hashed: a save must be of the entries its dry run was of."""
    entries = sorted((key, data.getlist(key)) for key in data
                     if not key.startswith(NOT_THE_CHANGE))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def revision_detail(request, slug: str, number: int):
    """A revision of an experiment's policy: who made it, when and why, and what it changed
    (against the one before, or `?against=` another)."""
    experiment = get_object_or_404(Experiment, slug=slug)
    revision = get_object_or_404(experiment.revisions.select_related("made_by"), number=number)
    against_number = request.GET.get("against", "")
    against = (experiment.revisions.filter(number=int(against_number)).first()
               if against_number.isdigit()
               else experiment.revisions.filter(number__lt=number).first())
    older, newer = sorted([against, revision], key=lambda r: r.number) if against \
        else (None, revision)
    return render(request, "workbench/revision.html", {
        "experiment": experiment, "revision": revision, "against": against,
        "older": older, "newer": newer,
        "diff": revisions.diff(older.policy if older else None, newer.policy),
        "all_revisions": experiment.revisions.only("number", "made_at"),
    })
