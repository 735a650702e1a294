from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import cache, clock, history, signals  # noqa: F401  (signals connects on import)
        from .permissions import ensure_wg_group

        cache.connect()
        clock.connect()
        history.connect()
        post_migrate.connect(ensure_wg_group, sender=self)
