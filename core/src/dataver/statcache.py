"""A local cache of file hashes keyed by (path, size, mtime, inode), to skip re-hashing.

Kept in SQLite under the cache folder. A file whose size, mtime and inode are unchanged is
not read again: a no-change ``sync_folder`` of 100,000 files only stats them. If the cache
folder is not writable the cache is simply off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

log = logging.getLogger("dataver.statcache")
RACY_SECONDS = 2.0


class FileStat(NamedTuple):
    """The parts of ``os.stat`` that tell whether a file changed."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileStat:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT NOT NULL, algorithm TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (path, algorithm)
) WITHOUT ROWID
"""


class StatCache:
    """Hashes of local files, valid while their stat is unchanged.

    Args:
        db_path: The SQLite file, or None to disable the cache.
    """

    def __init__(self, db_path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if db_path is None:
            return
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(db_path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            log.info("stat cache disabled (%s): %s", db_path, exc)
            self._db = None

    def lookup_folder(self, folder: str, algorithm: str) -> dict[str, tuple[FileStat, str]]:
        """Return every cached file under ``folder`` (absolute): path -> (stat, hash)."""
        if self._db is None:
            return {}
        prefix = folder.rstrip(os.sep) + os.sep
        # NOTE: one range scan on the primary key instead of 100,000 point look-ups.
        query = (
            "SELECT path, size, mtime_ns, inode, hash FROM hashes "
            "WHERE path >= ? AND path < ? AND algorithm = ?"
        )
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        with self._lock, contextlib.suppress(sqlite3.Error):
            rows = self._db.execute(query, (prefix, upper, algorithm)).fetchall()
            return {p: (FileStat(s, m, i), h) for p, s, m, i, h in rows}
        return {}

    def lookup(self, path: str, algorithm: str) -> tuple[FileStat, str] | None:
        """Return the cached (stat, hash) of one file, or None."""
        if self._db is None:
            return None
        query = "SELECT size, mtime_ns, inode, hash FROM hashes WHERE path = ? AND algorithm = ?"
        with self._lock, contextlib.suppress(sqlite3.Error):
            row = self._db.execute(query, (path, algorithm)).fetchone()
            if row:
                return FileStat(row[0], row[1], row[2]), row[3]
        return None

    def store(self, rows: Iterable[tuple[str, FileStat, str]], algorithm: str) -> None:
        """Remember hashes: (absolute path, stat, hash) rows.

        A file modified within the last :data:`RACY_SECONDS` is not remembered: on a file
        system with coarse timestamps it could still change without its mtime moving (git's
        "racily clean" problem), so it is hashed again next time.
        """
        if self._db is None:
            return
        horizon = time.time_ns() - int(RACY_SECONDS * 1e9)
        data = [
            (p, algorithm, s.size, s.mtime_ns, s.inode, h)
            for p, s, h in rows
            if s.mtime_ns < horizon
        ]
        if not data:
            return
        with self._lock:
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)", data
                    )
            except sqlite3.Error as exc:
                log.info("stat cache write skipped: %s", exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
