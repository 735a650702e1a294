"""An experiment's page: its rules, and its plan rendered from Markdown as HTML without
anything that could run."""

from __future__ import annotations

import re

from django.utils.html import escape

from experiments.models import Experiment
from sites.models import Assessment

from ..helpers import get_ok


def test_each_experiment_page_shows_its_rules_and_its_plan_as_html(client, demo):
    assert any("**" in plan for plan in Experiment.objects.values_list("plan", flat=True))
    for experiment in Experiment.objects.all():
        content = get_ok(client, f"/experiments/{experiment.slug}/").content.decode()

        assert f"<h1>{experiment.name}</h1>" in content
        for rule in experiment.rules.all():
            assert f"<strong>{escape(rule.summary)}</strong>" in content
        plan = experiment.plan
        for text in re.findall(r"\*\*(.+?)\*\*", plan, re.DOTALL):
            assert f"<strong>{text}</strong>" in content
            plan = plan.replace(f"**{text}**", "")
        for text in re.findall(r"\*(.+?)\*", plan, re.DOTALL):
            assert f"<em>{text}</em>" in content
        if "\n- " in plan:
            assert "<li>" in content
        assert "*" not in content.split('<section class="plan">')[1].split("</section>")[0]
        served = Assessment.objects.filter(experiment=experiment).count()
        assert f"{served} sites</a>" in content


def test_an_experiment_plan_loses_its_scripts_and_keeps_its_formatting(client, reference):
    Experiment.objects.filter(slug="cms").update(plan=(
        "Sites **must** provide Singularity.\n\n<script>alert(1)</script>\n\n"
        '<img src="x" onerror="alert(2)">\n\n[link](javascript:alert(3))'))

    content = get_ok(client, "/experiments/cms/").content.decode()

    assert "<strong>must</strong>" in content
    assert "alert(1)" not in content
    assert "onerror" not in content
    assert "javascript:alert" not in content
