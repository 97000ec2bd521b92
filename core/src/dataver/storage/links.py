"""Where an external link's bytes are read and written: one home for link URLs.

An ``s3://`` link goes through dataver's own S3 store (boto3, with the deadlines and the
retry policy of every other registry call; no s3fs needed); any other URL through fsspec.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from dataver import progress
from dataver.errors import NotFoundError, ObjectNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from dataver.settings import Settings
    from dataver.storage.base import Store

_S3_SCHEMES = ("s3", "s3a")
_CHUNK = 1 << 20

_stores: dict[tuple[str, Settings], Store] = {}
_lock = threading.Lock()


def split_s3(url: str) -> tuple[str, str] | None:
    """``(bucket, key)`` of an ``s3://bucket/key`` URL; None for any other URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _S3_SCHEMES:
        return None
    bucket, _, key = rest.partition("/")
    return bucket, key


def s3_store(bucket: str, settings: Settings) -> Store:
    """The store of one bucket, made once per process and settings (a boto3 client is slow
    to build, and is safe to share between threads)."""
    from dataver.storage.s3 import S3Store

    with _lock:
        store = _stores.get((bucket, settings))
        if store is None:
            store = _stores[bucket, settings] = S3Store(f"s3://{bucket}", settings=settings)
        return store


def download(url: str, target: Path, settings: Settings) -> None:
    """Copy the bytes at ``url`` into ``target``, reporting progress as they arrive.

    Raises:
        NotFoundError: Nothing is at ``url`` any more.
    """
    s3 = split_s3(url)
    if s3 is not None:
        bucket, key = s3
        try:
            s3_store(bucket, settings).get_file(key, target)
        except ObjectNotFoundError as exc:
            raise NotFoundError(f"external file {url} no longer exists", url=url) from exc
        return
    import fsspec

    report = progress.transfer_callback()
    try:
        with fsspec.open(url, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                if report is not None:
                    report(len(chunk))
    except FileNotFoundError as exc:
        raise NotFoundError(f"external file {url} no longer exists", url=url) from exc


def remove(url: str, settings: Settings) -> None:
    """Delete the object at ``url`` (already gone is fine)."""
    s3 = split_s3(url)
    if s3 is not None:
        bucket, key = s3
        s3_store(bucket, settings).delete(key)
        return
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    with contextlib.suppress(FileNotFoundError):
        fs.rm(path)
