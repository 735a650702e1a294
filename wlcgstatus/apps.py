from django.apps import AppConfig


class WlcgstatusConfig(AppConfig):
    """The project as an app too: its own models (meeting reports, daily counts) and commands."""

    name = "wlcgstatus"
    verbose_name = "WLCG status"
