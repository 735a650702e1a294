from django.apps import AppConfig


class WlcgstatusConfig(AppConfig):
    """The project as an app too: its own models (meeting reports, daily counts) and commands."""

    name = "wlcgstatus"
    verbose_name = "WLCG status"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment's checks)
