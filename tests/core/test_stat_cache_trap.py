"""A file rewritten in place with its old size, mtime and inode (issue 18, item 8).

The stat cache cannot see such a change (git cannot either): a sync keeps the old bytes, and
that is documented. But once an upload reads the file and finds that its bytes are not the
hash the stat cache gave, the cache row is wrong for good: upload must drop it, so that
"add it again" hashes the file and works instead of failing the same way forever.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.errors import IntegrityError
from dataver.statcache import FileStat, StatCache

if TYPE_CHECKING:
    from pathlib import Path

OLD = b"A" * 100
NEW = b"B" * 100


def _aged(path: Path) -> int:
    """Move ``path``'s mtime 10 s back (out of the racy window); return it (ns)."""
    past = path.stat().st_mtime_ns - 10_000_000_000
    os.utime(path, ns=(past, past))
    return past


def _rewrite_in_place(path: Path, data: bytes, mtime_ns: int) -> None:
    """Overwrite ``path``'s bytes through the same inode and put its old mtime back."""
    inode = path.stat().st_ino
    with path.open("r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    stat = path.stat()
    assert (stat.st_ino, stat.st_size, stat.st_mtime_ns) == (inode, len(data), mtime_ns)


def _trapped_folder(tmp_path: Path, registry: dataver.Registry, old: bytes, new: bytes) -> Path:
    """A folder whose ``a.bin`` the stat cache remembers as ``old`` while it holds ``new``."""
    data = tmp_path / "data"
    data.mkdir()
    target = data / "a.bin"
    target.write_bytes(old)
    mtime = _aged(target)
    first = registry.create("first", project="p")
    first.add_files(data)
    first.finalize(auto_upload=True)
    _rewrite_in_place(target, new, mtime)
    return data


def test_adding_again_after_upload_found_a_stale_cached_hash_works(
    tmp_path: Path, registry: dataver.Registry
) -> None:
    data = _trapped_folder(tmp_path, registry, OLD, NEW)
    first = registry.get(name="first", project="p")

    # Documented limit (as git): a sync cannot see the change, the child keeps the old bytes.
    child = registry.create("first", project="p", parents=[first.id])
    assert child.sync_folder(data) == (0, 0, 0)
    child.finalize()
    assert (child.get_local_copy() / "a.bin").read_bytes() == OLD

    # A fresh version: add_files takes the cached hash, the upload reads the file and sees it.
    fresh = registry.create("fresh", project="p")
    fresh.add_files(data)
    with pytest.raises(IntegrityError, match="changed since it was added; add it again"):
        fresh.upload()
    # ... and "add it again" now hashes the file: it works.
    assert fresh.add_files(data) == 1
    fresh.upload()
    fresh.finalize()
    assert (fresh.get_local_copy() / "a.bin").read_bytes() == NEW
    # The row was dropped and written again with the true hash: the next sync sees it.
    later = registry.create("first", project="p", parents=[child.id])
    assert later.sync_folder(data) == (0, 0, 1)
    later.finalize(auto_upload=True)
    assert (later.get_local_copy() / "a.bin").read_bytes() == NEW


def test_syncing_again_after_upload_found_a_stale_cached_hash_works(
    tmp_path: Path, registry: dataver.Registry
) -> None:
    """Syncing the same folder again must not take the no-change fast path of the first sync."""
    data = _trapped_folder(tmp_path, registry, OLD, NEW)
    fresh = registry.create("fresh", project="p")
    assert fresh.sync_folder(data) == (0, 1, 0)
    with pytest.raises(IntegrityError, match="add it again"):
        fresh.finalize(auto_upload=True)
    assert fresh.sync_folder(data) == (0, 0, 1)
    fresh.finalize(auto_upload=True)
    assert (fresh.get_local_copy() / "a.bin").read_bytes() == NEW


def test_a_large_file_is_never_stored_under_a_stale_cached_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file stored as its own object: its bytes are checked before they get the cached name.

    The first registry holds the old content; a second one does not, so its upload stores
    the file. Trusting the stat cache there would store the new bytes under the old hash: an
    object whose bytes are not its name, which every later version with that content would
    share (and fail to read).
    """
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "0")  # NOTE: every file is its own object
    old, new = os.urandom(4096), os.urandom(4096)
    data = _trapped_folder(tmp_path, dataver.Registry(tmp_path / "one"), old, new)
    other = dataver.Registry(tmp_path / "two")
    fresh = other.create("fresh", project="p")
    fresh.add_files(data)
    with pytest.raises(IntegrityError, match="changed since it was added; add it again"):
        fresh.upload()
    assert fresh.add_files(data) == 1
    fresh.finalize(auto_upload=True)
    assert (fresh.get_local_copy() / "a.bin").read_bytes() == new
    assert fresh.verify() == []


def test_forget_drops_the_row_of_one_file_and_the_sync_marks_above_it(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "stat.sqlite")
    folder = tmp_path / "data" / "sub"
    folder.mkdir(parents=True)
    files = [folder / "a.bin", folder / "b.bin"]
    for path in files:
        path.write_bytes(b"x")
        _aged(path)
    rows = [(str(p), FileStat.of(p.stat()), p.name * 8) for p in files]
    now = time.time_ns()
    cache.store(rows, "blake3", hashed_from_ns=now)  # NOTE: the folder's row
    cache.store(rows[:1], "blake3", hashed_from_ns=now)  # NOTE: a per-file row over it
    cache.store(rows, "sha256", hashed_from_ns=now)
    for where in (tmp_path / "data", folder, tmp_path / "elsewhere"):
        cache.remember_sync(str(where), "", "blake3", "listing", ["shard"])

    cache.forget(str(files[0]))

    for algorithm in ("blake3", "sha256"):
        assert cache.lookup(str(files[0]), algorithm) is None
        assert cache.lookup(str(files[1]), algorithm) is not None
    assert cache.last_sync(str(tmp_path / "data"), "", "blake3") is None
    assert cache.last_sync(str(folder), "", "blake3") is None
    assert cache.last_sync(str(tmp_path / "elsewhere"), "", "blake3") is not None
    cache.forget(str(tmp_path / "never-cached.bin"))  # NOTE: nothing to drop is no error
    StatCache(None).forget(str(files[1]))  # NOTE: a disabled cache has nothing to forget
