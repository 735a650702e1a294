from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import cache, clock, signals  # noqa: F401  (importing signals connects its triggers)
        from .permissions import ensure_wg_group

        cache.connect()
        clock.connect()
        post_migrate.connect(ensure_wg_group, sender=self)
