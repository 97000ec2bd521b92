"""Tasks take a registry as a ``DataverRegistry`` block or a URL string; this opens either."""

from __future__ import annotations

import dataver
from prefect_dataver.blocks import DEFAULT_UI_URL, DataverRegistry

RegistryLike = DataverRegistry | str
"""A :class:`DataverRegistry` block, or a registry URL (storage options from the environment)."""


def open_registry(registry: RegistryLike) -> dataver.Registry:
    """Open the registry a task was given.

    Args:
        registry: A block or a registry URL.

    Returns:
        The :class:`dataver.Registry`.

    Raises:
        TypeError: ``registry`` is neither a block nor a string.
    """
    if isinstance(registry, DataverRegistry):
        return registry.get_registry()
    if isinstance(registry, str):
        return dataver.Registry(registry)
    raise TypeError(f"registry must be a DataverRegistry block or a URL, not {registry!r}")


def version_page(registry: RegistryLike, version_id: str) -> str:
    """The web UI page of a version: ``<ui_url>/versions/<id>``.

    A URL string has no UI setting, so it uses the default UI address.
    """
    base = registry.ui_url if isinstance(registry, DataverRegistry) else DEFAULT_UI_URL
    return f"{base.rstrip('/')}/versions/{version_id}"
