"""The project's URLs: the WG-wide pages (overview, experiments, migrations, scenarios, the
probe), the feeds, calendars and badges here, each app's own under its namespace."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from sites import converters  # noqa: F401  (registers <site:…>)

from . import calendars, feeds, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("calendar.ics", calendars.everything, name="calendar"),
    path("experiments/<slug:slug>/", views.experiment_detail, name="experiment_detail"),
    path("experiments/<slug:slug>/badge.svg", views.experiment_badge, name="experiment_badge"),
    path("experiments/<slug:slug>/feed/", feeds.ExperimentFeed(), name="experiment_feed"),
    path("experiments/<slug:slug>/calendar.ics", calendars.experiment_calendar,
         name="experiment_calendar"),
    path("experiments/<slug:experiment>/migrations/<slug:slug>/", views.migration_detail,
         name="migration_detail"),
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("changes/", views.changes, name="changes"),
    path("changes/feed/", feeds.ChangesFeed(), name="changes_feed"),
    path("sites/<site:name>/badges/<slug:experiment>.svg", views.site_badge, name="site_badge"),
    path("sites/<site:name>/feed/", feeds.SiteFeed(), name="site_feed"),
    path("sites/<site:name>/calendar.ics", calendars.site_calendar, name="site_calendar"),
    path("probe/wlcg_capability_probe.py", views.probe_script, name="probe_script"),
    path("", include("sites.urls")),
    path("", include("wlcgstatus.workbench.urls")),
    path("reports/", include("wlcgstatus.reports.urls")),
    path("api/", include("wlcgstatus.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

if settings.OIDC_RP_CLIENT_ID:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
