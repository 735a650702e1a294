"""Everything about sites: the table, a site's page, what its contacts and the WG edit there,
a contact's own sites, and the change history. Included at the root of the project's URLs."""

from django.urls import path

from . import converters, views  # noqa: F401  (converters registers <site:…>)

app_name = "sites"

urlpatterns = [
    path("sites/", views.SiteListView.as_view(), name="site_list"),
    path("sites/<site:name>/", views.site_detail, name="site_detail"),
    path("sites/<site:name>/history/", views.site_history_page, name="site_history"),
    path("sites/<site:name>/capabilities/", views.site_capabilities, name="site_capabilities"),
    path("sites/<site:name>/exceptions/new/", views.exception_grant, name="exception_grant"),
    path("sites/<site:name>/migrations/<slug:experiment>/<slug:slug>/", views.record_progress,
         name="record_progress"),
    path("sites/<site:name>/tokens/", views.site_tokens, name="site_tokens"),
    path("sites/<site:name>/tokens/<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
    path("exceptions/<int:pk>/renew/", views.exception_renew, name="exception_renew"),
    path("exceptions/<int:pk>/revoke/", views.exception_revoke, name="exception_revoke"),
    path("me/", views.my_sites, name="my_sites"),
    path("imports/", views.import_runs, name="import_runs"),
]
