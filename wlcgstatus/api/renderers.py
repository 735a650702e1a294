"""The browsable API as DRF renders it, less what the Content-Security-Policy refuses."""

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """Without DRF's inline <style> of Pygments colours, which only colour code blocks in the
    views' descriptions (the JSON itself is coloured by a script file)."""

    def get_context(self, *args, **kwargs) -> dict:
        context = super().get_context(*args, **kwargs)
        context["code_style"] = None
        return context
