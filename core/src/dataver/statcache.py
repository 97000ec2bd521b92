"""A local cache of file hashes keyed by (path, size, mtime, inode), to skip re-hashing.

Kept in SQLite under the cache folder, one row per local folder holding a JSON map
``{file name: [size, mtime_ns, inode, hash]}``: a no-change ``sync_folder`` of 100,000 files in
100 folders reads 100 rows instead of 100,000, and only stats the files. A file whose size,
mtime and inode are unchanged is not read again. If the cache folder is not writable the
cache is simply off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

log = logging.getLogger("dataver.statcache")
RACY_SECONDS = 2.0
"""Racy window for files whose mtime has no sub-second part (FAT, HFS+, some network mounts):
at 1-2 s timestamp granularity a later write can keep the same mtime for that long."""
FINE_RACY_SECONDS = 0.1
"""Racy window for files with sub-second mtimes (ext4, xfs, btrfs, APFS): their timestamps come
from the kernel's coarse clock (one tick, at most 10 ms), so 0.1 s leaves a wide margin."""

Row = tuple[int, int, int, str]
"""A cached file: ``(size, mtime_ns, inode, hash)``."""


class FileStat(NamedTuple):
    """The parts of ``os.stat`` that tell whether a file changed."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileStat:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)


_SCHEMA = """
DROP TABLE IF EXISTS folders_v1;
CREATE TABLE IF NOT EXISTS folders_v2 (
    folder TEXT NOT NULL, algorithm TEXT NOT NULL, files TEXT NOT NULL,
    PRIMARY KEY (folder, algorithm)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recent_v2 (
    folder TEXT NOT NULL, algorithm TEXT NOT NULL, name TEXT NOT NULL, file TEXT NOT NULL,
    PRIMARY KEY (folder, algorithm, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS syncs_v1 (
    folder TEXT NOT NULL, prefix TEXT NOT NULL, algorithm TEXT NOT NULL,
    listing TEXT NOT NULL, shards BLOB NOT NULL,
    PRIMARY KEY (folder, prefix, algorithm)
) WITHOUT ROWID;
"""


class StatCache:
    """Hashes of local files, valid while their stat is unchanged.

    Args:
        db_path: The SQLite file, or None to disable the cache.
    """

    def __init__(self, db_path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._patch = False
        if db_path is None:
            return
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                db_path, timeout=30, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            log.info("stat cache disabled (%s): %s", db_path, exc)
            self._db = None
            return
        self._patch = _has_json_patch(self._db)

    def lookup_folder(self, folder: str, algorithm: str) -> dict[str, dict[str, list[Any]]]:
        """Return every cached file under ``folder`` (absolute, recursively).

        Returns:
            ``{folder: {file name: [size, mtime_ns, inode, hash]}}`` — nested rather than
            flat, so 100,000 files cost 100 JSON decodes and no per-file objects.
        """
        if self._db is None:
            return {}
        top = folder.rstrip(os.sep)
        # NOTE: one range scan on the primary key: the folder and everything below it.
        query = (
            "SELECT folder, files FROM folders_v2 "
            "WHERE algorithm = ? AND (folder = ? OR (folder >= ? AND folder < ?))"
        )
        low = top + os.sep
        high = top + chr(ord(os.sep) + 1)
        with self._lock, contextlib.suppress(sqlite3.Error):
            rows = self._db.execute(query, (algorithm, top, low, high)).fetchall()
            known = {name: _decode(blob) for name, blob in rows}
            recent = self._db.execute(_RECENT_UNDER, (algorithm, top, low, high)).fetchall()
            for where, name, file in recent:
                value = _decode_file(file)
                if value is not None:
                    known.setdefault(where, {})[name] = value
            return known
        return {}

    def lookup_folders(
        self, folders: Iterable[str], algorithm: str
    ) -> dict[str, dict[str, list[Any]]]:
        """Like :meth:`lookup_folder`, for exactly these folders (absolute, no trailing
        separator; not the folders below them): a part of a large folder's rows."""
        if self._db is None:
            return {}
        wanted = sorted(set(folders))
        known: dict[str, dict[str, list[Any]]] = {}
        with self._lock, contextlib.suppress(sqlite3.Error):
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ", ".join("?" * len(batch))  # NOTE: only placeholders go into the SQL
                rows = self._db.execute(
                    f"SELECT folder, files FROM folders_v2 WHERE algorithm = ? AND folder IN ({marks})",  # noqa: S608, E501
                    (algorithm, *batch),
                ).fetchall()
                known.update((name, _decode(blob)) for name, blob in rows)
                recent = self._db.execute(
                    f"SELECT folder, name, file FROM recent_v2 WHERE algorithm = ? AND folder IN ({marks})",  # noqa: S608, E501
                    (algorithm, *batch),
                ).fetchall()
                for where, name, file in recent:
                    value = _decode_file(file)
                    if value is not None:
                        known.setdefault(where, {})[name] = value
            return known
        return {}

    def lookup_row(self, path: str, algorithm: str) -> Row | None:
        """Return the cached ``(size, mtime_ns, inode, hash)`` of one file, or None."""
        folder, name = os.path.split(path)
        files = self._folder(folder, algorithm)
        value = files.get(name)
        return _row(value) if value is not None else None

    def lookup(self, path: str, algorithm: str) -> tuple[FileStat, str] | None:
        """Return the cached (stat, hash) of one file, or None."""
        row = self.lookup_row(path, algorithm)
        return None if row is None else (FileStat(row[0], row[1], row[2]), row[3])

    def _folder(self, folder: str, algorithm: str) -> dict[str, Any]:
        if self._db is None:
            return {}
        query = "SELECT files FROM folders_v2 WHERE folder = ? AND algorithm = ?"
        files: dict[str, Any] = {}
        with contextlib.suppress(sqlite3.Error):
            found = self._db.execute(query, (folder, algorithm)).fetchone()
            if found is not None:
                files = _decode(found[0])
            recent = "SELECT name, file FROM recent_v2 WHERE folder = ? AND algorithm = ?"
            for name, file in self._db.execute(recent, (folder, algorithm)).fetchall():
                value = _decode_file(file)
                if value is not None:
                    files[name] = value
        return files

    def store(
        self, rows: Iterable[tuple[str, FileStat, str]], algorithm: str, *, hashed_from_ns: int
    ) -> None:
        """Remember hashes: (absolute path, stat, hash) rows.

        A file modified within its racy window (see :func:`is_racy`) before ``hashed_from_ns``
        is not remembered: it could still change without its mtime moving (git's "racily
        clean" problem), so it is hashed again next time.

        Args:
            rows: ``(absolute path, stat taken before hashing, hash)``.
            algorithm: The hash algorithm.
            hashed_from_ns: ``time.time_ns()`` taken before any of the files was read.
        """
        if self._db is None:
            return
        by_folder: dict[str, dict[str, list[Any]]] = defaultdict(dict)
        for path, stat, digest in rows:
            if not is_racy(stat.mtime_ns, hashed_from_ns):
                folder, name = os.path.split(path)
                by_folder[folder][name] = [stat.size, stat.mtime_ns, stat.inode, digest]
        if by_folder:
            with self._lock:
                try:
                    self._merge(by_folder, algorithm)
                except sqlite3.Error as exc:
                    log.info("stat cache write skipped: %s", exc)

    def _merge(self, by_folder: dict[str, dict[str, list[Any]]], algorithm: str) -> None:
        """Write new hashes: one row per file for folders already cached, else whole folders.

        NOTE: a folder's row holds all its files as one JSON map (cheap to read in bulk), but
        rewriting it for a few changed files is not (100 files changed across 63 folders of
        100: 4.5 ms). So a folder's row is written when it is first cached; later changes go
        to one small row per file, read over it, and are folded back into the folders' rows
        once more than :data:`RECENT_MAX` accumulate. One IMMEDIATE transaction, so
        concurrent processes never lose each other's rows.
        """
        assert self._db is not None  # noqa: S101 - checked by the caller
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cached = self._cached_folders(list(by_folder), algorithm)
            singles: list[tuple[str, str, str, str]] = []
            for folder, files in by_folder.items():
                if folder not in cached:
                    self._put_folder(folder, algorithm, files)
                    continue
                singles.extend(
                    (folder, algorithm, name, orjson.dumps(value).decode())
                    for name, value in files.items()
                )
            if singles:
                self._db.executemany(
                    "INSERT OR REPLACE INTO recent_v2 VALUES (?, ?, ?, ?)", singles
                )
                if self._db.execute("SELECT COUNT(*) FROM recent_v2").fetchone()[0] > RECENT_MAX:
                    self._fold()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _cached_folders(self, folders: list[str], algorithm: str) -> set[str]:
        assert self._db is not None  # noqa: S101 - checked by the caller
        found: set[str] = set()
        for start in range(0, len(folders), 500):
            batch = folders[start : start + 500]
            marks = ", ".join("?" * len(batch))  # NOTE: only placeholders go into the SQL
            query = f"SELECT folder FROM folders_v2 WHERE algorithm = ? AND folder IN ({marks})"  # noqa: S608
            found.update(row[0] for row in self._db.execute(query, (algorithm, *batch)))
        return found

    def _put_folder(self, folder: str, algorithm: str, files: dict[str, list[Any]]) -> None:
        """Merge ``files`` into the folder's row (in SQLite with json_patch when it has it)."""
        assert self._db is not None  # noqa: S101 - checked by the caller
        if self._patch:
            self._db.execute(_UPSERT, (folder, algorithm, orjson.dumps(files).decode()))
            return
        query = "SELECT files FROM folders_v2 WHERE folder = ? AND algorithm = ?"
        found = self._db.execute(query, (folder, algorithm)).fetchone()
        merged = _decode(found[0]) if found is not None else {}
        merged.update(files)
        self._db.execute(
            "INSERT OR REPLACE INTO folders_v2 VALUES (?, ?, ?)",
            (folder, algorithm, orjson.dumps(merged).decode()),
        )

    def _fold(self) -> None:
        """Move every per-file row into its folder's row."""
        assert self._db is not None  # noqa: S101 - checked by the caller
        grouped: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(dict)
        for folder, algorithm, name, file in self._db.execute("SELECT * FROM recent_v2"):
            value = _decode_file(file)
            if value is not None:
                grouped[folder, algorithm][name] = value
        for (folder, algorithm), files in grouped.items():
            self._put_folder(folder, algorithm, files)
        self._db.execute("DELETE FROM recent_v2")

    def forget(self, path: str) -> None:
        """Drop what the cache says about one file: its hash rows, and the sync marks above it.

        For a row found wrong: a file rewritten in place with its old size, mtime and inode
        keeps a row whose hash is not its content, and nothing about its stat would ever
        retire it. The caller (an upload that read the file) knows better; once the row is
        gone the next add or sync hashes the file. The no-change marks of every folder
        holding the file go too: their listing has not moved either, so a sync of such a
        folder would otherwise still take the fast path and see nothing.

        Args:
            path: The file's absolute path, as the scan names it.
        """
        if self._db is None:
            return
        folder, name = os.path.split(path)
        with self._lock:
            try:
                self._drop(folder, name)
            except sqlite3.Error as exc:
                log.info("stat cache row of %s not dropped: %s", path, exc)

    def _drop(self, folder: str, name: str) -> None:
        assert self._db is not None  # noqa: S101 - checked by the caller
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # NOTE: every algorithm's row: the content changed, so none of them is right.
            self._db.execute("DELETE FROM recent_v2 WHERE folder = ? AND name = ?", (folder, name))
            query = "SELECT algorithm, files FROM folders_v2 WHERE folder = ?"
            for algorithm, blob in self._db.execute(query, (folder,)).fetchall():
                files = _decode(blob)
                if files.pop(name, None) is not None:
                    self._db.execute(
                        "UPDATE folders_v2 SET files = ? WHERE folder = ? AND algorithm = ?",
                        (orjson.dumps(files).decode(), folder, algorithm),
                    )
            above = _ancestors(folder)
            marks = ", ".join("?" * len(above))  # NOTE: only placeholders go into the SQL
            self._db.execute(f"DELETE FROM syncs_v1 WHERE folder IN ({marks})", above)  # noqa: S608
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def last_sync(self, folder: str, prefix: str, algorithm: str) -> tuple[str, list[str]] | None:
        """Return ``(listing digest, shard hashes)`` recorded by :meth:`remember_sync`."""
        if self._db is None:
            return None
        query = (
            "SELECT listing, shards FROM syncs_v1 WHERE folder = ? AND prefix = ? AND algorithm = ?"
        )
        with self._lock, contextlib.suppress(sqlite3.Error, orjson.JSONDecodeError):
            row = self._db.execute(query, (folder, prefix, algorithm)).fetchone()
            if row is not None:
                shards = orjson.loads(row[1])
                if isinstance(shards, list):
                    return row[0], shards
        return None

    def remember_sync(
        self, folder: str, prefix: str, algorithm: str, listing: str, shards: list[str]
    ) -> None:
        """Record that the manifest shards ``shards`` mirror the folder listing ``listing``."""
        if self._db is None:
            return
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "INSERT OR REPLACE INTO syncs_v1 VALUES (?, ?, ?, ?, ?)",
                (folder, prefix, algorithm, listing, orjson.dumps(shards)),
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


RECENT_MAX = 4096
"""Files cached one row each before they are folded into their folders' rows."""

_PUT_RECENT = "INSERT OR REPLACE INTO recent_v2 VALUES (?, ?, ?, ?)"
_RECENT_UNDER = (
    "SELECT folder, name, file FROM recent_v2 "
    "WHERE algorithm = ? AND (folder = ? OR (folder >= ? AND folder < ?))"
)

_UPSERT = (
    "INSERT INTO folders_v2 VALUES (?, ?, ?) ON CONFLICT (folder, algorithm) "
    "DO UPDATE SET files = CASE WHEN json_valid(files) "
    "THEN json_patch(files, excluded.files) ELSE excluded.files END"
)


def _has_json_patch(db: sqlite3.Connection) -> bool:
    """Whether this SQLite has ``json_patch`` (built in since 3.38, an extension before)."""
    try:
        db.execute("SELECT json_patch('{}', '{}')").fetchone()
    except sqlite3.Error:
        return False
    return True


def _ancestors(folder: str) -> list[str]:
    """``folder`` and every folder above it, as sync marks name them (absolute, no trailing
    separator)."""
    out = [folder]
    while True:
        parent = os.path.dirname(out[-1])
        if parent == out[-1]:
            return out
        out.append(parent)


def _row(value: Any) -> Row | None:
    if isinstance(value, list) and len(value) == 4:
        return (value[0], value[1], value[2], value[3])
    return None


def is_racy(mtime_ns: int, read_at_ns: int) -> bool:
    """Whether a file with ``mtime_ns``, read at ``read_at_ns``, could change unseen.

    A write in the same timestamp tick as the one that set ``mtime_ns`` would leave the mtime
    unchanged; one more than a tick later always moves it. So a hash is trusted by stat alone
    only if the file was read at least a racy window after its mtime: 2 s for whole-second
    timestamps, 0.1 s for sub-second ones.
    """
    whole_second = mtime_ns % 1_000_000_000 == 0
    window = RACY_SECONDS if whole_second else FINE_RACY_SECONDS
    return mtime_ns >= read_at_ns - int(window * 1e9)


def _decode_file(text: str) -> list[Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, list) and len(value) == 4 else None


def _decode(blob: bytes) -> dict[str, list[Any]]:
    try:
        files = orjson.loads(blob)
    except orjson.JSONDecodeError:
        return {}
    return files if isinstance(files, dict) else {}
