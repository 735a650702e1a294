"""The policy workbench's URLs, under the experiment and scenario pages they change."""

from django.urls import path

from . import views

app_name = "policy"

urlpatterns = [
    path("experiments/<slug:slug>/policy/plan/", views.PlanView.as_view(), name="plan"),
    path("experiments/<slug:slug>/policy/rules/new/", views.NewRuleView.as_view(),
         name="rule_new"),
    path("experiments/<slug:slug>/policy/rules/order/", views.RuleOrderView.as_view(),
         name="rule_order"),
    path("experiments/<slug:slug>/policy/rules/<int:position>/", views.RuleView.as_view(),
         name="rule"),
    path("experiments/<slug:slug>/policy/rules/<int:position>/remove/",
         views.RemoveRuleView.as_view(), name="rule_remove"),
    path("experiments/<slug:slug>/policy/exceptions/new/", views.ExceptionKindView.as_view(),
         name="exception_kind_new"),
    path("experiments/<slug:slug>/policy/exceptions/<slug:kind>/",
         views.ExceptionKindView.as_view(), name="exception_kind"),
    path("experiments/<slug:slug>/policy/migrations/new/", views.MigrationView.as_view(),
         name="migration_new"),
    path("experiments/<slug:slug>/policy/migrations/<slug:migration>/",
         views.MigrationView.as_view(), name="migration"),
    path("experiments/<slug:slug>/revisions/<int:number>/", views.revision_detail,
         name="revision"),
    path("scenarios/new/", views.ScenarioView.as_view(), name="scenario_new"),
    path("scenarios/<slug:slug>/edit/", views.ScenarioView.as_view(), name="scenario"),
]
