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
from experiments.models import ExceptionKind, Experiment, PolicyRule, Scenario
from sites.permissions import is_wg_member
from sites.signals import note_policy_change, policy_recomputed_once

from .drafts import Draft
from .forms import (
    ChangeFilter,
    ConditionFormSet,
    ExceptionKindForm,
    NewRuleForm,
    PlanForm,
    RuleForm,
    RuleOrderForm,
    SaveForm,
    ScenarioForm,
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
        draft = Draft.stored(self.experiments())
        self.apply_to(draft, forms)
        fingerprint = _fingerprint(request.POST)
        action = request.POST.get("action")
        saving = SaveForm(request.POST if action == "save" else None, prefix="save")
        if action == "save" and saving.is_valid():
            if request.POST.get("save-fingerprint") == fingerprint:
                return self.save_and_record(forms, saving.cleaned_data["reason"])
            saving.add_error(None, "The entries changed after the dry run was made of them: "
                                   "check the dry run below, then save again.")
        result = draft.dry_run()
        shown = ChangeFilter(request.POST, prefix="show")
        changes = [change for change in result.changes if shown.matches(change)]
        if action == "export":
            return _csv(changes, self.experiments())
        return self.page(forms, result=result, changes=changes[:CHANGES_SHOWN],
                         filtered=len(changes), shown=shown, saving=saving,
                         fingerprint=fingerprint)

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
        if made:
            messages.success(self.request, "Saved as " + ", ".join(map(str, made)) + ".")
        else:
            messages.info(self.request, "Saved; the policy is as it was, so no revision was "
                                        "made.")
        return redirect(self.done_url())

    def page(self, forms: list, **context):
        return render(self.request, self.template_name, {
            "title": self.title, "experiment": getattr(self, "experiment", None),
            "forms": forms, "back_url": self.done_url(), **context})


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
        draft.replace_rule(rule.instance, _kept(conditions))

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
        draft.replace_rule(rule.instance, _kept(conditions))

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


def _kept(conditions) -> list:
    """The conditions a valid formset leaves the rule: its rows not deleted nor left empty."""
    return [form.instance for form in conditions.forms
            if form not in conditions.deleted_forms
            and (form.instance.pk is not None or form.has_changed())]


def _fingerprint(data) -> str:
    """The change's entries, hashed: a save must be of the entries its dry run was of."""
    entries = sorted((key, data.getlist(key)) for key in data
                     if not key.startswith(NOT_THE_CHANGE))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def _csv(changes, experiments) -> HttpResponse:
    dataset = Dataset(headers=["site", "country", "tier", "experiment", "scenario now",
                               "scenario proposed", "compliance now", "compliance proposed",
                               "why"], title="Dry run")
    for change in changes:
        dataset.append([change.site_name, change.country, change.tier, change.experiment.name,
                        getattr(change.old_scenario, "name", ""),
                        getattr(change.new_scenario, "name", ""), change.old_compliance.label,
                        change.new_compliance.label, change.reason])
    name = "-".join(experiment.slug for experiment in experiments)
    response = HttpResponse(dataset.export("csv"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dry-run-{name}.csv"'
    return response


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
