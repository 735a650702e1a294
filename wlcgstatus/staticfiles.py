"""Serve plotly.js from the installed plotly package, so that charts work offline and the
version always matches the Python side. Only that one file: the package's data folder holds
about 30 MB more that no page needs."""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly.min.js"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
STATIC_PATH = f"vendor/{PLOTLY_JS}"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=PLOTLY_DIR)
        self.storage.prefix = "vendor"  # collectstatic copies it to STATIC_ROOT/vendor/

    def find(self, path: str, find_all: bool = False, **kwargs):
        if path != STATIC_PATH:
            return [] if find_all else None
        found = str(PLOTLY_DIR / PLOTLY_JS)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        yield PLOTLY_JS, self.storage
