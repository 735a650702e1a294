"""Running an import and keeping it: every import, scheduled, started on the import runs page
or on the command line, leaves an `ImportRun` with its outcome and its diff; one that fails
says why and changes nothing."""

from __future__ import annotations

import time

from sites.models import ImportRun

from . import SourceError, cric, gocdb
from .apply import describe, import_records, summary

SOURCES = {module.SOURCE.label: module for module in (cric, gocdb)}


def run_import(label: str, location: str, *, trigger: str, user=None, dry_run: bool = False,
               allow_gone: bool = False) -> ImportRun:
    """Import from the source at the location (a path or URL) and keep the run. A source's
    refusal (unreadable, malformed, too many sites gone) is a failed run; anything else
    unexpected is kept as a failed run too, and raised."""
    source = SOURCES[label]
    run = ImportRun(source=label, location=location[:500], trigger=trigger, started_by=user)
    start = time.perf_counter()
    try:
        parsed = source.read(location)
        diff = import_records(parsed.records, source.SOURCE, dry_run=dry_run,
                              allow_gone=allow_gone)
    except SourceError as error:
        _failed(run, str(error), start)
        return run
    except Exception as error:
        _failed(run, f"Unexpected error: {type(error).__name__}: {error}", start)
        raise
    run.outcome = ImportRun.Outcome.DRY_RUN if dry_run else ImportRun.Outcome.APPLIED
    run.summary = summary(diff, dry_run=dry_run)
    run.lines = [*parsed.skipped, *describe(diff)]
    run.seconds = time.perf_counter() - start
    run.save()
    return run


def _failed(run: ImportRun, why: str, start: float) -> None:
    run.outcome = ImportRun.Outcome.FAILED
    run.summary = why
    run.seconds = time.perf_counter() - start
    run.save()
