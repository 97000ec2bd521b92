"""Storage backends behind one port; :func:`open_store` picks one from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from dataver.errors import ConfigurationError
from dataver.storage.base import ObjectInfo, Store
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    from pathlib import Path

    from dataver.settings import Settings

__all__ = ["LocalStore", "ObjectInfo", "Store", "open_store"]


def open_store(
    url: str | Path, *, storage_options: dict[str, Any] | None = None, settings: Settings
) -> Store:
    """Return the store for a registry URL.

    Args:
        url: A local path, or a ``file://`` URL.
        storage_options: Backend options (unused by local folders).
        settings: Settings in force.

    Returns:
        A :class:`Store`.

    Raises:
        ConfigurationError: The URL scheme is not supported.
    """
    text = str(url)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and text[1:3] == ":\\"):
        path = unquote(parsed.path) if parsed.scheme == "file" else text
        return LocalStore(path, fsync=settings.fsync)
    raise ConfigurationError(
        f"unsupported registry URL {text!r}: use a local folder or a file:// URL", url=text
    )
