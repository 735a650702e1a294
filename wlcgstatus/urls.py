"""The project's URLs: the WG-wide pages (overview, experiments, migrations, scenarios, the
probe) here, each app's own under its namespace."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("experiments/<slug:slug>/", views.experiment_detail, name="experiment_detail"),
    path("experiments/<slug:experiment>/migrations/<slug:slug>/", views.migration_detail,
         name="migration_detail"),
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("changes/", views.changes, name="changes"),
    path("probe/wlcg_capability_probe.py", views.probe_script, name="probe_script"),
    path("", include("sites.urls")),
    path("reports/", include("wlcgstatus.reports.urls")),
    path("api/", include("wlcgstatus.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

if settings.OIDC_RP_CLIENT_ID:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
