"""A store whose writes stay in memory, over a store that is only read.

Used to compute a manifest without storing it: the staged view of an Uploading version
(:mod:`dataver.manifest.staged`) writes its shards here, and every other key is read from
the registry underneath. Nothing that goes through it changes the registry.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING

from dataver.errors import ConflictError, StorageError
from dataver.storage.base import ObjectInfo, Store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class MemoryOverlay(Store):
    """Reads fall through to ``base``; writes are kept in memory for this object's lifetime.

    Args:
        base: The registry store, never written.
    """

    def __init__(self, base: Store) -> None:
        self.base = base
        self.url = base.url
        self.read_ahead = base.read_ahead
        self._written: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def read(self, key: str) -> bytes:
        with self._lock:
            data = self._written.get(key)
        return self.base.read(key) if data is None else data

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with self._lock:
            data = self._written.get(key)
        if data is None:
            return self.base.read_range(key, start, length)
        return data[start : start + length]

    def write(self, key: str, data: bytes | bytearray) -> None:
        with self._lock:
            self._written[key] = bytes(data)

    def create(self, key: str, data: bytes) -> str:
        with self._lock:
            if key in self._written or self.base.exists(key):
                raise ConflictError(f"{key} already exists", key=key)
            self._written[key] = bytes(data)
        return hashlib.sha256(data).hexdigest()

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        data = self.read(key)
        return data, hashlib.sha256(data).hexdigest()

    def replace(self, key: str, data: bytes, token: str) -> str:
        raise StorageError(f"cannot replace {key} through a read-only overlay", key=key)

    def put_file(self, local: Path, key: str) -> None:
        raise StorageError(f"cannot upload {key} through a read-only overlay", key=key)

    def get_file(self, key: str, local: Path) -> None:
        with self._lock:
            data = self._written.get(key)
        if data is None:
            self.base.get_file(key, local)
        else:
            local.write_bytes(data)

    def exists(self, key: str) -> bool:
        with self._lock:
            if key in self._written:
                return True
        return self.base.exists(key)

    def size(self, key: str) -> int:
        with self._lock:
            data = self._written.get(key)
        return self.base.size(key) if data is None else len(data)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        return self.base.list(prefix)

    def delete(self, key: str) -> None:
        raise StorageError(f"cannot delete {key} through a read-only overlay", key=key)

    def delete_if(self, key: str, token: str) -> None:
        raise StorageError(f"cannot delete {key} through a read-only overlay", key=key)

    def local_path(self, key: str) -> Path | None:
        with self._lock:
            if key in self._written:
                return None
        return self.base.local_path(key)
