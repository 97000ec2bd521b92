"""The storage port: what the registry needs from a place that holds bytes.

Keys are ``/``-separated strings relative to the registry root. Every write is atomic (a
reader sees the old bytes or the new, never a mix). Compare-and-swap is expressed with
opaque tokens: :meth:`Store.create` succeeds only if the key is absent, :meth:`Store.replace`
only if the key still holds the bytes the token was read with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class ObjectInfo(NamedTuple):
    """One stored object as listed."""

    key: str
    size: int
    mtime: float


class Store(ABC):
    """Abstract storage backend. Implementations translate their errors to dataver's."""

    url: str
    read_ahead: int = 0
    """Manifest shards to fetch ahead while one is decoded: worth it only where a read waits
    on the network; on local disk a reading thread just contends for the GIL."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """Return the bytes at ``key``. Raises ObjectNotFoundError if absent."""

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return ``length`` bytes from ``start``. Raises ObjectNotFoundError if absent."""

    @abstractmethod
    def write(self, key: str, data: bytes | bytearray) -> None:
        """Write ``data`` at ``key`` atomically, replacing whatever was there."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> str:
        """Write ``data`` only if ``key`` is absent and return its token.

        Raises:
            ConflictError: The key already exists.
        """

    @abstractmethod
    def read_with_token(self, key: str) -> tuple[bytes, str]:
        """Return the bytes at ``key`` and a token for :meth:`replace`."""

    @abstractmethod
    def replace(self, key: str, data: bytes, token: str) -> str:
        """Replace ``key`` only if it still matches ``token``; return the new token.

        Raises:
            ConflictError: Someone changed or deleted the key since ``token`` was read.
        """

    @abstractmethod
    def put_file(self, local: Path, key: str) -> None:
        """Upload a local file to ``key`` (streamed, atomic)."""

    @abstractmethod
    def get_file(self, key: str, local: Path) -> None:
        """Download ``key`` into the local file ``local`` (streamed)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether ``key`` exists."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Return the size of ``key`` in bytes. Raises ObjectNotFoundError if absent."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with ``prefix`` (a folder ends with ``/``)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing key is not an error.

        Unconditional: only for objects nobody swaps (content, journals, leftovers). A
        record is removed with :meth:`delete_if`, so a concurrent swap cannot be lost.
        """

    @abstractmethod
    def delete_if(self, key: str, token: str) -> None:
        """Delete ``key`` only if it still holds the bytes ``token`` was read with.

        The check and the delete are one step, as in :meth:`replace`. A missing key is not an
        error: whoever removed it first removed the same bytes or a later version of them.

        Raises:
            ConflictError: Someone changed the key since ``token`` was read.
        """

    def local_path(self, key: str) -> Path | None:
        """Return a local file path for ``key`` if the store is on local disk, else None.

        The cache uses it to copy with the kernel instead of streaming through Python.
        """
        return None

    def leftovers(self) -> Iterator[ObjectInfo]:
        """Yield what interrupted writes left that :meth:`list` never shows (``fsck``).

        A local folder's temporary files, say; a store whose writes are atomic leaves none.
        """
        return iter(())

    def remove_leftover(self, key: str) -> None:  # noqa: B027 - optional hook
        """Remove one of :meth:`leftovers` (``fsck --repair``)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections and other resources."""
