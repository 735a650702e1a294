from django.apps import AppConfig


class WlcgstatusConfig(AppConfig):
    """The project as an app too: its dashboard templates tags, commands and static files."""

    name = "wlcgstatus"
    verbose_name = "WLCG status"
