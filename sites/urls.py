from django.urls import path

from . import views

urlpatterns = [
    path("", views.SiteListView.as_view(), name="site_list"),
    path("<str:name>/", views.site_detail, name="site_detail"),
    path("<str:name>/capabilities/", views.site_capabilities, name="site_capabilities"),
    path("<str:name>/exceptions/new/", views.exception_grant, name="exception_grant"),
]
