"""Tasks take a registry as a ``DataverRegistry`` block or a URL string; this opens either.

The caller closes what it opens (``with open_registry(registry) as reg:``): a long-lived
worker must not keep a stat-cache database or an S3 client per task run.

Every registry a task opens is remembered under its flow run (in this process), so that a
crash hook can find the versions of the run without being told the registry.
"""

from __future__ import annotations

import threading

from prefect.context import FlowRunContext

import dataver
from prefect_dataver.blocks import DEFAULT_UI_URL, DataverRegistry

RegistryLike = DataverRegistry | str
"""A :class:`DataverRegistry` block, or a registry URL (storage options from the environment)."""

# flow run id -> {registry URL: the block or URL a task opened it with}
_USED: dict[str, dict[str, RegistryLike]] = {}
_LOCK = threading.Lock()
_MAX_RUNS = 1000


def open_registry(registry: RegistryLike) -> dataver.Registry:
    """Open the registry a task was given (the caller closes it).

    Args:
        registry: A block or a registry URL.

    Returns:
        The :class:`dataver.Registry`.

    Raises:
        TypeError: ``registry`` is neither a block nor a string.
    """
    if isinstance(registry, DataverRegistry):
        opened = registry.get_registry()
    elif isinstance(registry, str):
        opened = dataver.Registry(registry)
    else:
        raise TypeError(f"registry must be a DataverRegistry block or a URL, not {registry!r}")
    _remember(opened.url, registry)
    return opened


def _remember(url: str, registry: RegistryLike) -> None:
    flow_ctx = FlowRunContext.get()
    if flow_ctx is None or flow_ctx.flow_run is None:
        return
    with _LOCK:
        _USED.setdefault(str(flow_ctx.flow_run.id), {})[url] = registry
        # NOTE: runs that end well are never read back; keep the newest runs only.
        while len(_USED) > _MAX_RUNS:
            del _USED[next(iter(_USED))]


def registries_used(flow_run_id: str) -> list[RegistryLike]:
    """The registries tasks of a flow run opened in this process (forgotten once read).

    Args:
        flow_run_id: The flow run.

    Returns:
        Blocks or URLs, one per registry.
    """
    with _LOCK:
        return list(_USED.pop(flow_run_id, {}).values())


def version_page(registry: RegistryLike, version_id: str) -> str:
    """The web UI page of a version: ``<ui_url>/versions/<id>``.

    A URL string has no UI setting, so it uses the default UI address.
    """
    base = registry.ui_url if isinstance(registry, DataverRegistry) else DEFAULT_UI_URL
    return f"{base.rstrip('/')}/versions/{version_id}"
