"""In-use leases on cached trees: shared ``flock`` locks held until the process exits.

A process that was handed a tree (``get_local_copy``) may read it for as long as it lives,
so it holds a shared lock on ``locks/use-<key>`` from then on. Eviction takes the same lock
exclusively without waiting: if any live process holds it, the tree stays. The kernel drops a
process's locks when it dies, however it dies, so a crash never pins a tree for good.

NOTE: filelock (used for the build locks) offers exclusive locks, and its ReadWriteLock keeps
an SQLite transaction open per lease; a process-lifetime shared lock is one ``flock`` call.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_held: dict[str, int] = {}
_guard = threading.Lock()


def hold(lock_path: Path) -> None:
    """Hold a shared lease on ``lock_path`` until this process exits (idempotent).

    Best effort: where the lock file cannot be created (read-only cache), no lease is held.
    """
    key = str(lock_path)
    with _guard:
        if key in _held:
            return
        fd = _lock_current(key)
        if fd is not None:
            _held[key] = fd


def _lock_current(path: str) -> int | None:
    """Take a shared lock on the file now at ``path``.

    An eviction unlinks the lease file while it holds it exclusively; a lock taken on the
    unlinked file would protect nothing, so take it again on the new file.
    """
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except OSError:
            pass
        os.close(fd)
    return None


def release(lock_path: Path) -> None:
    """Drop this process's lease on ``lock_path`` (no-op if none is held)."""
    with _guard:
        fd = _held.pop(str(lock_path), None)
    if fd is not None:
        os.close(fd)


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[bool]:
    """Try to take ``lock_path`` exclusively, without waiting.

    Yields:
        True if no process (this one included) holds a lease; the lock is kept until the
        block ends, so no process can take a new lease meanwhile.
    """
    if str(lock_path) in _held:
        yield False
        return
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def remove(lock_path: Path) -> None:
    """Delete a lease file; call only inside :func:`exclusive` that yielded True."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock_path)
