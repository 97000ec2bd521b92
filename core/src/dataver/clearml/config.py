"""Which registry :mod:`dataver.clearml` works on: the one given to :func:`configure`, else
``DATAVER_REGISTRY`` (read at each call, as every dataver setting is)."""

from __future__ import annotations

import os
import threading
from typing import Any

from dataver.api.registry import Registry
from dataver.settings import Settings, get_settings

_lock = threading.Lock()
_configured: Registry | None = None
_defaults: dict[Settings, Registry] = {}


def configure(
    registry: str | os.PathLike[str] | Registry | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> None:
    """Point ``dataver.clearml`` at a registry (a URL, a folder or a :class:`~dataver.Registry`).

    ``configure()`` with no argument goes back to ``DATAVER_REGISTRY``.

    Example:
        >>> from dataver import clearml
        >>> clearml.configure(registry="s3://bucket/datasets")  # doctest: +SKIP
    """
    global _configured
    with _lock:
        if registry is None or isinstance(registry, Registry):
            _configured = registry
        else:
            _configured = Registry(os.fspath(registry), storage_options=storage_options)


def current() -> Registry:
    """The registry in force (one :class:`~dataver.Registry` per settings, kept for reuse)."""
    with _lock:
        if _configured is not None:
            return _configured
        # NOTE: keyed by all the settings, not the URL: a changed DATAVER_CACHE_DIR (or any
        # other variable) gets a registry that uses it.
        settings = get_settings()
        found = _defaults.get(settings)
        if found is None:
            found = _defaults[settings] = Registry(settings=settings)
        return found
