"""A site's name in a URL: any text but a slash or a NUL byte, which no site's name holds and
PostgreSQL refuses in a query (a 500 instead of the 404 every other unknown name gets)."""


from django.urls import register_converter

SITE_NAME = "[^/\x00]+"


class SiteNameConverter:
    regex = SITE_NAME

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SiteNameConverter, "site")  # <site:name> in the URLs of sites and the API
