"""The overview is what everyone opens first; it, the experiment pages' counts and the sites
table's country choices are read over every site, yet only change when the WG's data does:
they are cached under a version that every write to that data moves on. A cache that cannot be
reached (Redis down) is skipped, never an error."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.apps import apps
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save

logger = logging.getLogger(__name__)
VERSION_KEY = "dashboard:version"
POLICY_VERSION_KEY = "policy:version"
TIMEOUT = 24 * 3600
T = TypeVar("T")
# The models of these apps that no cached page shows: writing them invalidates nothing.
NOT_CACHED = {"sites.ImportRun"}
# Of the experiments app, what the policy a recomputation applies does not hold: a revision
# records the policy (the recomputation records one when it finds none) and changes none of it.
NOT_POLICY = {"experiments.PolicyRevision"}
# Within `invalidating_once`: whether a write happened, to invalidate once on leaving.
_written: ContextVar[list[bool] | None] = ContextVar("dashboard_cache_written", default=None)


def cached(name: str, build: Callable[[], T]) -> T:
    return _cached(VERSION_KEY, name, build)


def cached_policy(name: str, build: Callable[[], T]) -> T:
    """As `cached`, for what the WG's reference data alone makes (the experiments app: the
    policy a recomputation applies): its version moves only with a write to that data, so a
    site's report, which moves the dashboard's version, finds the policy still cached."""
    return _cached(POLICY_VERSION_KEY, name, build)


def _cached(version_key: str, name: str, build: Callable[[], T]) -> T:
    version = read(version_key)
    if version is None:
        version = invalidate(version_key)
    key = f"{version_key}:{name}:{version}"
    value = read(key)
    if value is None:
        value = build()
        write(key, value, TIMEOUT)
    return value


def invalidate(version_key: str = VERSION_KEY) -> str:
    """A new version: everything cached under the old one is no longer read. Random, not the
    time: two writes within one tick of the clock (or under a stopped one) still differ."""
    version = secrets.token_hex(8)
    write(version_key, version, None)
    return version


def invalidate_on_write(sender=None, **kwargs) -> None:
    """The signals' handler: invalidate now, or once on leaving `invalidating_once`; a write
    to the reference data moves the policy's version too, at once."""
    if (sender is not None and sender._meta.app_label == "experiments"
            and sender._meta.label not in NOT_POLICY):
        invalidate(POLICY_VERSION_KEY)
    written = _written.get()
    if written is None:
        invalidate()
    else:
        written[0] = True


@contextmanager
def invalidating_once() -> Iterator[None]:
    """Within it, a write only notes that the cached pages are stale; leaving it invalidates
    once, if anything was written: an import writing a thousand rows (and their history)
    moves the version once instead of at each row. Nested, the outermost one invalidates."""
    if _written.get() is not None:
        yield
        return
    written = [False]
    token = _written.set(written)
    try:
        yield
    finally:
        _written.reset(token)
        if written[0]:
            invalidate()


def read(key: str):
    """The cached value, or None if there is none or the cache cannot be reached."""
    try:
        return cache.get(key)
    except Exception as error:  # any cache failure: as without a cache
        logger.warning("Cache unavailable: %s", error)
        return None


def write(key: str, value, timeout: int | None) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as error:
        logger.warning("Cache unavailable: %s", error)


def connect() -> None:
    """Every write to the WG's data (any model of these apps but NOT_CACHED) invalidates,
    and so does every recomputation (which writes in bulk, without model signals)."""
    # Imported here: the recomputation reads the history, which reads through this cache.
    from .recompute import assessments_recomputed

    for label in ("experiments", "sites"):
        for model in apps.get_app_config(label).get_models():
            if model._meta.label in NOT_CACHED:
                continue
            uid = f"dashboard-cache-{model._meta.label}"
            post_save.connect(invalidate_on_write, sender=model, dispatch_uid=uid)
            post_delete.connect(invalidate_on_write, sender=model, dispatch_uid=uid)
    m2m_changed.connect(invalidate_on_write, dispatch_uid="dashboard-cache-m2m")
    assessments_recomputed.connect(invalidate_on_write, dispatch_uid="dashboard-cache-recompute")
