"""Storage backends behind one port; :func:`open_store` picks one from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

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
        url: A local path or ``file://`` URL (:class:`LocalStore`), ``s3://bucket/prefix``
            (:class:`~dataver.storage.s3.S3Store`), or any other fsspec URL
            (:class:`~dataver.storage.fsspec.FsspecStore`: ``memory://``, ``gs://``, ...).
        storage_options: Backend options (S3: key, secret, token, profile, region,
            endpoint_url, addressing_style; fsspec: the filesystem's own options).
        settings: Settings in force.

    Returns:
        A :class:`Store`.

    Raises:
        ConfigurationError: The URL scheme has no fsspec implementation installed, or a
            storage option is wrong.
    """
    text = str(url)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and text[1:3] == ":\\"):
        path = unquote(parsed.path) if parsed.scheme == "file" else text
        return LocalStore(path, fsync=settings.fsync)
    if parsed.scheme in ("s3", "s3a"):
        from dataver.storage.s3 import S3Store

        return S3Store(
            "s3://" + text.split("://", 1)[1], settings=settings, storage_options=storage_options
        )
    from dataver.storage.fsspec import FsspecStore

    return FsspecStore(text, settings=settings, storage_options=storage_options)
