"""Status badges: small SVG images, for a site's wiki page or an experiment's notes, of a
site's compliance for one experiment or of an experiment's share of target sites. Drawn the
way shields.io draws its flat badges: a grey label, a coloured message."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag

CHARACTER = 6.6  # px: the mean advance of an 11 px Verdana character; textLength fits the rest
PADDING = 6  # px each side of a text
MAX_AGE = 300  # seconds a wiki page's visitors may keep a badge before asking again


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    colour: str  # the message's background, as #rrggbb

    @property
    def label_width(self) -> int:
        return _width(self.label)

    @property
    def message_width(self) -> int:
        return _width(self.message)

    @property
    def width(self) -> int:
        return self.label_width + self.message_width

    @property
    def texts(self) -> list[tuple[str, float, int]]:
        """Each text with the middle of its box (texts are anchored there) and its length."""
        return [(self.label, self.label_width / 2, self.label_width - 2 * PADDING),
                (self.message, self.label_width + self.message_width / 2,
                 self.message_width - 2 * PADDING)]

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads better on the message's colour (WCAG contrast)."""
        luminance = _luminance(self.colour)
        return "#1f2328" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#fff"


def _width(text: str) -> int:
    return round(len(text) * CHARACTER) + 2 * PADDING


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of #rrggbb."""
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def badge_response(request: HttpRequest, badge: Badge) -> HttpResponse:
    """The badge as SVG, cacheable by anyone for a few minutes and answered 304 when the
    client's copy is still the same."""
    response = HttpResponse(render_to_string("wlcgstatus/badge.svg", {"badge": badge}),
                            content_type="image/svg+xml; charset=utf-8")
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    set_response_etag(response)
    return get_conditional_response(request, etag=response["ETag"], response=response)
