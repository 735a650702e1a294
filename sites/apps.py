from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401  (connects the recompute triggers)
        from .permissions import ensure_wg_group

        post_migrate.connect(ensure_wg_group, sender=self)
