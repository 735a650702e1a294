"""The project's URLs with single sign-on's, as they are where OIDC is configured."""

from django.urls import include, path

from wlcgstatus.urls import urlpatterns as project

urlpatterns = [path("oidc/", include("mozilla_django_oidc.urls")), *project]
