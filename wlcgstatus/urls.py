from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from sites import views as site_views

from . import tokens, views
from .reports import views as report_views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sites/<str:name>/tokens/", tokens.site_tokens, name="site_tokens"),
    path("sites/<str:name>/tokens/<int:pk>/revoke/", tokens.revoke_token, name="revoke_token"),
    path("sites/", include("sites.urls")),
    path("experiments/<slug:slug>/", views.experiment_detail, name="experiment_detail"),
    path("experiments/<slug:experiment>/migrations/<slug:slug>/", views.migration_detail,
         name="migration_detail"),
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("probe/wlcg_capability_probe.py", views.probe_script, name="probe_script"),
    path("me/", site_views.my_sites, name="my_sites"),
    path("changes/", site_views.recent_changes, name="recent_changes"),
    path("exceptions/<int:pk>/renew/", site_views.exception_renew, name="exception_renew"),
    path("exceptions/<int:pk>/revoke/", site_views.exception_revoke, name="exception_revoke"),
    path("reports/", report_views.report_list, name="report_list"),
    path("reports/new/", report_views.report_request, name="report_request"),
    path("reports/<int:pk>/", report_views.report_detail, name="report_detail"),
    path("reports/<int:pk>/status/", report_views.report_status, name="report_status"),
    path("reports/<int:pk>/download/", report_views.report_download, name="report_download"),
    path("reports/<int:pk>/retry/", report_views.report_retry, name="report_retry"),
    path("api/", include("wlcgstatus.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

if settings.OIDC_RP_CLIENT_ID:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
