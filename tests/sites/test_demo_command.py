"""The demo command, as the README's first command runs it."""

from django.core.management import call_command

from sites.management.commands.build_demo_fixture import DEMO_DATE, HISTORY_START
from sites.models import Assessment, AssessmentChange, CapabilityValue, Site


def test_the_demo_loads_once_and_a_restart_keeps_what_was_changed(db, on_demo_date, client):
    call_command("load_demo", "--accounts", "--if-empty", verbosity=0)
    assert Site.objects.count() == 150
    assert Assessment.objects.exists()
    # Its history is the year it replays, not a hundred and fifty sites joining.
    changes = AssessmentChange.objects.all()
    assert changes.exists()
    assert not changes.filter(event=AssessmentChange.Event.STARTED).exists()
    assert all(HISTORY_START < change.changed_at.date() < DEMO_DATE for change in changes)
    signed_in = client.post("/accounts/login/", {"username": "contact", "password": "demo"})
    assert signed_in.url == "/me/"
    assert Site.objects.get(name="GRIF").contacts.filter(username="contact").exists()

    value = CapabilityValue.objects.get(site__name="GRIF", capability__key="container_runtime")
    value.value = "apptainer"
    value.save()
    call_command("load_demo", "--accounts", "--if-empty", verbosity=0)

    value.refresh_from_db()
    assert value.value == "apptainer"
