from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sites/", include("sites.urls")),
    path("experiments/<slug:slug>/", views.experiment_detail, name="experiment_detail"),
    path("experiments/<slug:experiment>/migrations/<slug:slug>/", views.migration_detail,
         name="migration_detail"),
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("admin/", admin.site.urls),
]
