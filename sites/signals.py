"""Keep stored assessments in step with their inputs.

A change at one site is recomputed at once (a few queries), so the page that saved it shows
the new result; within `recomputing_once`, once for all the changes made in it. A change to an
experiment's policy touches all its sites: that runs as a task once the transaction commits.
Deletions also wait for the commit, since a cascade (a site deleted with its reports and
exceptions) must be complete before anything is recomputed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from experiments.models import ExceptionKind, PolicyRule, RuleCondition

from .models import CapabilityValue, ExperimentSite, Site, SiteException
from .recompute import recompute, recompute_sites
from .tasks import recompute_experiment


@receiver(post_save, sender=Site)
def site_saved(sender, instance: Site, raw: bool = False, **kwargs) -> None:
    if not raw:
        recompute_sites([instance.pk])


@receiver(pre_save, sender=ExperimentSite)
def name_moving(sender, instance: ExperimentSite, raw: bool = False, **kwargs) -> None:
    # A name moved to another site leaves the old one: both must be recomputed.
    if not raw and instance.pk:
        instance._previous_site_id = (ExperimentSite.objects.filter(pk=instance.pk)
                                      .values_list("site_id", flat=True).first())


@receiver(post_save, sender=CapabilityValue)
@receiver(post_save, sender=ExperimentSite)
@receiver(post_save, sender=SiteException)
def site_input_saved(sender, instance, raw: bool = False, **kwargs) -> None:
    if not raw:
        previous = getattr(instance, "_previous_site_id", None)
        recompute_sites({instance.site_id, previous} - {None})


@receiver(post_delete, sender=CapabilityValue)
@receiver(post_delete, sender=ExperimentSite)
@receiver(post_delete, sender=SiteException)
def site_input_deleted(sender, instance, **kwargs) -> None:
    site_id = instance.site_id
    transaction.on_commit(lambda: recompute(sites=[site_id]))


# The experiments whose policy changed inside `policy_recomputed_once`; None outside it.
_changed_policies: ContextVar[set[int] | None] = ContextVar("changed_policies", default=None)


@contextmanager
def policy_recomputed_once() -> Iterator[None]:
    """Within it, a change to an experiment's policy only notes the experiment; leaving it
    queues one recomputation of each (after the commit): a rule saved with its conditions
    recomputes the fleet once, not once per row."""
    changed: set[int] = set()
    token = _changed_policies.set(changed)
    try:
        yield
    finally:
        _changed_policies.reset(token)
    for experiment_id in sorted(changed):
        recompute_experiment.delay_on_commit(experiment_id)


def note_policy_change(experiment_id: int) -> None:
    """The experiment's policy changed: recompute it once on leaving `policy_recomputed_once`,
    else after the commit."""
    changed = _changed_policies.get()
    if changed is not None:
        changed.add(experiment_id)
    else:
        recompute_experiment.delay_on_commit(experiment_id)


@receiver([post_save, post_delete], sender=PolicyRule)
@receiver([post_save, post_delete], sender=ExceptionKind)
def policy_changed(sender, instance, raw: bool = False, **kwargs) -> None:
    if not raw:
        note_policy_change(instance.experiment_id)


@receiver([post_save, post_delete], sender=RuleCondition)
def condition_changed(sender, instance: RuleCondition, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    # The rule may be gone already when its conditions are deleted with it.
    experiment_id = (PolicyRule.objects.filter(pk=instance.rule_id)
                     .values_list("experiment_id", flat=True).first())
    if experiment_id is not None:
        note_policy_change(experiment_id)
