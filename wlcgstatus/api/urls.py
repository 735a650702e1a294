from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from sites import converters  # noqa: F401  (registers <site:…>)

from . import views

app_name = "api"

router = DefaultRouter()
router.include_format_suffixes = False
router.register("sites", views.SiteViewSet, basename="site")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("scenarios", views.ScenarioViewSet, basename="scenario")
router.register("assessments", views.AssessmentViewSet, basename="assessment")
router.register("exceptions", views.ExceptionViewSet, basename="exception")
router.register("migrations", views.MigrationViewSet, basename="migration")
router.register("summary", views.SummaryViewSet, basename="summary")

urlpatterns = [
    # DRF's views are exempt from LoginRequiredMiddleware: reads check READ_REQUIRES_LOGIN
    # themselves (ReadAccess), and this one takes a site token whatever the setting.
    path("sites/<site:name>/capabilities/", views.CapabilityReportView.as_view(),
         name="site-capabilities"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script from its own URL (?script) and the page's styles from a
    # file: the CSP allows neither inline.
    path("docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api:schema", template_name="api/swagger_ui.html"), name="docs"),
    *router.urls,
]
