"""Tasks take a registry as a ``DataverRegistry`` block or a URL string; this opens either.

The caller closes what it opens (``with open_registry(registry) as reg:``): a long-lived
worker must not keep a stat-cache database or an S3 client per task run.

Every registry a task opens is remembered under its flow run, so that the flow's
cancellation and crash hooks (``dataver_flow_hooks``) find the versions of the run without
being told the registry:

- in this process (a crash hook runs in the flow run's own process), and
- on the flow run itself, as the label ``dataver.registry.<hash>`` (the registry URL, plus
  ``dataver.registry.<hash>.block``: the block document's id when a saved block opened
  it). A runner or worker runs ``on_cancellation`` in its own process, after killing the
  flow run's: the labels are what it can read there. They name no secret.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prefect.context import FlowRunContext

import dataver
from prefect_dataver.blocks import DEFAULT_UI_URL, DataverRegistry

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

RegistryLike = DataverRegistry | str
"""A :class:`DataverRegistry` block, or a registry URL (storage options from the environment)."""

LABEL_PREFIX = "dataver.registry."
"""Flow run labels ``dataver.registry.<hash>``: the registries the run's tasks opened."""
_BLOCK_SUFFIX = ".block"

logger = logging.getLogger("prefect_dataver")

# flow run id -> {registry URL: the block or URL a task opened it with}
_USED: dict[str, dict[str, RegistryLike]] = {}
_LOCK = threading.Lock()
_MAX_RUNS = 1000


def open_registry(registry: RegistryLike, *, remember: bool = True) -> dataver.Registry:
    """Open the registry a task was given (the caller closes it).

    Args:
        registry: A block or a registry URL.
        remember: Record it under the current flow run (False: the hooks' own look-ups).

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
    if remember:
        _remember(opened.url, registry)
    return opened


def _remember(url: str, registry: RegistryLike) -> None:
    flow_ctx = FlowRunContext.get()
    if flow_ctx is None or flow_ctx.flow_run is None:
        return
    run_id = str(flow_ctx.flow_run.id)
    with _LOCK:
        seen = _USED.setdefault(run_id, {})
        new = url not in seen
        seen[url] = registry
        # NOTE: runs that end well are never read back; keep the newest runs only.
        while len(_USED) > _MAX_RUNS:
            del _USED[next(iter(_USED))]
    if new:
        _label_flow_run(run_id, registry_labels(url, registry))


def registry_labels(url: str, registry: RegistryLike) -> dict[str, str]:
    """The flow run labels that record a registry: its URL, and its block's id if saved.

    Args:
        url: The opened registry's URL.
        registry: What the task was given.

    Returns:
        ``{"dataver.registry.<hash>": url}`` (plus ``….block``: the block document id).
    """
    key = LABEL_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:12]
    labels = {key: url}
    block_id = getattr(registry, "_block_document_id", None)
    if isinstance(registry, DataverRegistry) and block_id is not None:
        labels[key + _BLOCK_SUFFIX] = str(block_id)
    return labels


def _label_flow_run(run_id: str, labels: dict[str, str]) -> None:
    """Add ``labels`` to the flow run (read back: the server merges labels read-modify-write)."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            for _ in range(3):
                client.update_flow_run_labels(UUID(run_id), labels)  # type: ignore[arg-type]
                current = client.read_flow_run(UUID(run_id)).labels or {}
                if all(current.get(k) == v for k, v in labels.items()):
                    return
    except Exception as exc:  # noqa: BLE001 - the task goes on; only cleanup would miss it
        logger.warning(
            "could not record registry %s on flow run %s (cancelling the run from a "
            "deployment may leave its versions Uploading): %s",
            next(iter(labels.values())),
            run_id,
            exc,
        )


def registries_used(flow_run_id: str) -> list[RegistryLike]:
    """The registries tasks of a flow run opened in this process (forgotten once read).

    Args:
        flow_run_id: The flow run.

    Returns:
        Blocks or URLs, one per registry.
    """
    with _LOCK:
        return list(_USED.pop(flow_run_id, {}).values())


def registries_labelled(flow_run: FlowRun) -> list[RegistryLike]:
    """The registries recorded on a flow run's labels (read fresh from the API when it can).

    A saved block is loaded by its id (its credentials with it); otherwise, or when the
    block is gone, the URL is opened with the environment's storage options.

    Args:
        flow_run: The flow run.

    Returns:
        Blocks or URLs, one per registry.
    """
    from prefect.client.orchestration import get_client

    labels: dict[str, Any] = dict(flow_run.labels or {})
    try:
        with get_client(sync_client=True) as client:
            labels.update(client.read_flow_run(flow_run.id).labels or {})
    except Exception as exc:  # noqa: BLE001 - the labels the hook was given still count
        logger.warning("could not read the labels of flow run %s: %s", flow_run.id, exc)
    found: list[RegistryLike] = []
    for key, url in sorted(labels.items()):
        if not key.startswith(LABEL_PREFIX) or key.endswith(_BLOCK_SUFFIX):
            continue
        block_id = labels.get(key + _BLOCK_SUFFIX)
        if block_id:
            try:
                found.append(DataverRegistry.load_from_ref(str(block_id)))
                continue
            except Exception as exc:  # noqa: BLE001 - fall back to the URL
                logger.warning("could not load block %s of %s: %s", block_id, url, exc)
        found.append(str(url))
    return found


def version_page(registry: RegistryLike, version_id: str) -> str:
    """The web UI page of a version: ``<ui_url>/versions/<id>``.

    A URL string has no UI setting, so it uses the default UI address.
    """
    base = registry.ui_url if isinstance(registry, DataverRegistry) else DEFAULT_UI_URL
    return f"{base.rstrip('/')}/versions/{version_id}"
