"""CMS's HPC rule becomes the standing exception the seed names ("HPC systems: planned to be used
only for production workloads"), and its other rules move up one place, as fixtures/reference
now has them, so that loading the reference data again leaves one consistent policy. A database
without CMS's HPC rule (a new one, or one whose WG changed it) is left as it is; the
assessments are recomputed by `recompute_assessments` or the nightly run."""

from django.db import migrations


def rule_to_standing_exception(apps, schema_editor):
    PolicyRule = apps.get_model("experiments", "PolicyRule")
    ExceptionKind = apps.get_model("experiments", "ExceptionKind")
    rule = PolicyRule.objects.filter(experiment__slug="cms", site_kind="hpc", position=1,
                                     conditions__isnull=True).first()
    if rule is None:
        return
    ExceptionKind.objects.update_or_create(
        experiment=rule.experiment, slug="hpc-production-only",
        defaults={
            "name": "HPC systems used for production workloads only",
            "description": "HPC systems are planned to be used only for production workloads: "
                           "no user jobs, so payloads need not be isolated from the pilot.",
            "scenario": rule.scenario, "pilot_credentials": rule.pilot_credentials,
            "payload_credentials": rule.payload_credentials,
            "allows_production": rule.allows_production,
            "allows_user_jobs": rule.allows_user_jobs,
            "requires_expiry": False, "applies_to": "hpc",
        })
    rule.delete()
    for later in PolicyRule.objects.filter(experiment__slug="cms").order_by("position"):
        later.position -= 1
        later.save(update_fields=["position"])


class Migration(migrations.Migration):

    dependencies = [
        ("experiments", "0004_standing_exceptions_and_grant_limits"),
        ("sites", "0011_assessment_standing_exception"),
    ]

    operations = [
        migrations.RunPython(rule_to_standing_exception, migrations.RunPython.noop),
    ]
