"""A proposed policy, in memory: the stored rules, exception kinds and scenarios of some
experiments with one change applied to them and nothing saved. The dry run evaluates it; a
revision's snapshot is taken from it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from experiments import revisions
from experiments.models import (
    ExceptionKind,
    Experiment,
    PolicyRule,
    RuleCondition,
    Scenario,
)
from sites.dry_run import DryRun, dry_run
from sites.recompute import policy_from


@dataclass
class Draft:
    experiments: list[Experiment]
    rules: list[PolicyRule]
    kinds: list[ExceptionKind]
    scenarios: dict[int, Scenario]

    @classmethod
    def stored(cls, experiments: list[Experiment]) -> Draft:
        """The experiments' policy as stored, each rule with its conditions loaded."""
        rules = list(PolicyRule.objects.filter(experiment__in=experiments)
                     .select_related("scenario").prefetch_related(Prefetch(
                         "conditions", RuleCondition.objects.select_related("capability"))))
        kinds = list(ExceptionKind.objects.filter(experiment__in=experiments)
                     .select_related("scenario"))
        return cls(experiments, rules, kinds, Scenario.objects.in_bulk())

    def rule(self, rule_id: int) -> PolicyRule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    def replace_rule(self, rule: PolicyRule, conditions: list[RuleCondition]) -> None:
        """Put `rule` (new, or an edited copy of a stored one) in its place, with these
        conditions."""
        rule.draft_conditions = conditions
        self.rules = [other for other in self.rules if rule.id is None or other.id != rule.id]
        self.rules.append(rule)

    def remove_rule(self, rule_id: int) -> None:
        self.rules = [rule for rule in self.rules if rule.id != rule_id]

    def replace_kind(self, kind: ExceptionKind) -> None:
        self.kinds = [other for other in self.kinds if kind.id is None or other.id != kind.id]
        self.kinds.append(kind)

    def replace_scenario(self, scenario: Scenario) -> None:
        """Every rule and exception kind leading to the scenario leads to it as edited."""
        if scenario.pk is None:
            return  # a new scenario: nothing leads to it yet
        self.scenarios = {**self.scenarios, scenario.pk: scenario}
        for outcome in [*self.rules, *self.kinds]:
            if outcome.scenario_id == scenario.pk:
                outcome.scenario = scenario

    def snapshot(self, experiment: Experiment) -> dict:
        return revisions.snapshot(
            experiment, [rule for rule in self.rules if rule.experiment_id == experiment.id],
            [kind for kind in self.kinds if kind.experiment_id == experiment.id])

    def dry_run(self) -> DryRun:
        return dry_run(self.experiments, policy_from(self.rules, self.kinds), self.scenarios)
