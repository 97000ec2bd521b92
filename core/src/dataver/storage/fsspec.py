"""A registry on any other fsspec URL: ``memory://``, ``gs://``, ``az://``, ``sftp://``...

fsspec gives every backend the same file API but no portable conditional write, so
compare-and-swap is a check-then-write under a lock of this process: safe between the threads
of one process, not between processes or hosts. Per backend (see docs/storage.md):

* ``memory://`` — one process by nature: fully safe.
* object stores through fsspec (``gs://``, ``az://``, ``abfs://``) — each write is atomic (an
  object appears whole), but two hosts finalizing the same version could both win. Use one
  writer per dataset at a time, or S3 (``s3://``, real conditional writes).
* file-system-like backends (``sftp://``, ``smb://``, ``hdfs://``) — writes may be seen half
  done by readers; single writer, and prefer a mounted folder with the local store.

Every call runs under the one retry policy: connection errors and timeouts are retried.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any

import fsspec

from dataver import progress
from dataver.errors import (
    ConfigurationError,
    ConflictError,
    ObjectNotFoundError,
    StorageError,
    TransientStorageError,
)
from dataver.retry import retry_policy
from dataver.storage.base import ObjectInfo, Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from dataver.settings import Settings

_swap_lock = threading.Lock()


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FsspecStore(Store):
    """Store on an fsspec URL.

    Args:
        url: Any URL fsspec can open (its implementation must be installed, e.g. gcsfs).
        settings: Settings in force (retry policy).
        storage_options: Passed to the fsspec filesystem.

    Raises:
        ConfigurationError: No fsspec implementation for the URL's scheme.
    """

    def __init__(
        self, url: str, *, settings: Settings, storage_options: dict[str, Any] | None = None
    ) -> None:
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise ConfigurationError(f"unsupported registry URL {url!r}: {exc}", url=url) from None
        self.root = root.rstrip("/")
        self.url = url.rstrip("/")
        self._settings = settings
        self.read_ahead = 0 if "memory" in self.fs.protocol else 4

    def __repr__(self) -> str:
        return f"FsspecStore({self.url!r})"

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def _call(self, what: str, key: str, func: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            try:
                return func()
            except FileNotFoundError:
                raise ObjectNotFoundError(f"{self.url}/{key} does not exist", key=key) from None
            except (ConnectionError, TimeoutError) as exc:
                raise TransientStorageError(
                    f"{what} of {self.url}/{key}: {type(exc).__name__}", key=key
                ) from exc
            except OSError as exc:
                raise StorageError(
                    f"{what} of {self.url}/{key} failed: {type(exc).__name__}", key=key
                ) from exc

        return retry_policy(self._settings)(attempt)

    # ------------------------------------------------------------------ reads
    def read(self, key: str) -> bytes:
        data: bytes = self._call("read", key, lambda: self.fs.cat_file(self._path(key)))
        return data

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        data: bytes = self._call(
            "read", key, lambda: self.fs.cat_file(self._path(key), start, start + length)
        )
        if len(data) != length:
            raise StorageError(f"short read of {self.url}/{key}: {len(data)} of {length} bytes")
        return data

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        data = self.read(key)
        return data, _token(data)

    def exists(self, key: str) -> bool:
        found: bool = self._call("stat", key, lambda: self.fs.exists(self._path(key)))
        return found

    def size(self, key: str) -> int:
        return int(self._call("stat", key, lambda: self.fs.size(self._path(key))))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(prefix)
        folder = base if prefix.endswith("/") or not prefix else base.rsplit("/", 1)[0]
        try:
            found = self._call("list", prefix, lambda: self.fs.find(folder, detail=True))
        except ObjectNotFoundError:
            return
        root = self.fs._strip_protocol(self.root).rstrip("/")
        wanted = self.fs._strip_protocol(base)
        for path, info in sorted(found.items()):
            name = self.fs._strip_protocol(path)
            if not name.startswith(wanted):
                continue
            mtime = info.get("mtime") or info.get("created") or 0
            stamp = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime)
            yield ObjectInfo(name[len(root) + 1 :], int(info.get("size") or 0), stamp)

    def get_file(self, key: str, local: Path) -> None:
        moved = _moved()
        self._call("download", key, lambda: self.fs.get_file(self._path(key), str(local), **moved))

    # ------------------------------------------------------------------ writes
    def write(self, key: str, data: bytes | bytearray) -> None:
        self._call("write", key, lambda: self.fs.pipe_file(self._path(key), data))

    def create(self, key: str, data: bytes) -> str:
        with _swap_lock:
            if self.exists(key):
                raise ConflictError(f"{key} already exists in {self.url}", key=key)
            self.write(key, data)
        return _token(data)

    def replace(self, key: str, data: bytes, token: str) -> str:
        with _swap_lock:
            try:
                current = self.read(key)
            except ObjectNotFoundError:
                raise ConflictError(f"{key} was deleted from {self.url}", key=key) from None
            if _token(current) != token:
                raise ConflictError(f"{key} was changed by another writer", key=key)
            self.write(key, data)
        return _token(data)

    def put_file(self, local: Path, key: str) -> None:
        moved = _moved()
        self._call("upload", key, lambda: self.fs.put_file(str(local), self._path(key), **moved))

    def delete(self, key: str) -> None:
        try:
            self._call("delete", key, lambda: self.fs.rm_file(self._path(key)))
        except ObjectNotFoundError:
            return

    def delete_if(self, key: str, token: str) -> None:
        with _swap_lock:
            try:
                current = self.read(key)
            except ObjectNotFoundError:
                return
            if _token(current) != token:
                raise ConflictError(f"{key} was changed by another writer", key=key)
            self.delete(key)


def _moved() -> dict[str, Any]:
    """fsspec's ``callback`` argument reporting to :func:`progress.transfer_callback`, if any.

    NOTE: read in the caller's thread; empty without a listener (fsspec's default).
    """
    report = progress.transfer_callback()
    if report is None:
        return {}
    from fsspec.callbacks import Callback

    class Moved(Callback):  # type: ignore[misc]
        seen = 0

        def call(self, hook_name: str | None = None, **kwargs: Any) -> None:
            del hook_name, kwargs
            amount, self.seen = self.value - self.seen, self.value
            if report is not None and amount:
                report(amount)

    return {"callback": Moved()}
