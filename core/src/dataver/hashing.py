"""Content hashing: BLAKE3 by default, SHA-256 selectable.

The algorithm is named in every manifest, so a reader always knows how to verify.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Protocol

import blake3

from dataver.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ALGORITHMS = ("blake3", "sha256")
_CHUNK = 1 << 20
_BIG_CHUNK = 16 << 20
# NOTE: below this size the thread start-up of multi-threaded BLAKE3 costs more than it saves.
_PARALLEL_THRESHOLD = 8 << 20


class Hasher(Protocol):
    """The part of hashlib's interface dataver uses."""

    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str) -> Hasher:
    """Return an incremental hasher for ``algorithm``.

    Raises:
        ConfigurationError: The algorithm is not ``blake3`` or ``sha256``.
    """
    if algorithm == "blake3":
        return blake3.blake3()
    if algorithm == "sha256":
        return hashlib.sha256()
    raise ConfigurationError(
        f"unknown hash algorithm {algorithm!r}; use one of {ALGORITHMS}", algorithm=algorithm
    )


def hash_bytes(data: bytes | bytearray | memoryview, algorithm: str) -> str:
    """Return the hex digest of ``data``."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return hasher.hexdigest()


def hash_file(
    path: str | Path, algorithm: str, on_bytes: Callable[[int], None] | None = None
) -> str:
    """Return the hex digest of a file, streamed so memory stays flat.

    Large files are fed to BLAKE3 in big buffers, which it hashes on several threads; a
    memory map would be as fast but would count the whole file in the process's RSS.

    Args:
        path: The file to hash.
        algorithm: ``"blake3"`` or ``"sha256"``.
        on_bytes: Called with the size of each buffer hashed (progress of large files).

    Returns:
        The lowercase hex digest.

    Raises:
        OSError: The file cannot be read.
    """
    size = os.path.getsize(path)
    hasher: Hasher
    if algorithm == "blake3" and size >= _PARALLEL_THRESHOLD:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        chunk = _BIG_CHUNK
    else:
        hasher = new_hasher(algorithm)
        chunk = _CHUNK
    buffer = bytearray(min(chunk, max(size, 1)))
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
            if on_bytes is not None:
                on_bytes(count)
    return hasher.hexdigest()
