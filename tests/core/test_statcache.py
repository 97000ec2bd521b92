"""The stat cache: unchanged files are not re-hashed, recently written ones are not trusted."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from dataver.statcache import FINE_RACY_SECONDS, RACY_SECONDS, FileStat, StatCache, is_racy

if TYPE_CHECKING:
    from pathlib import Path


def _aged(path: Path, seconds: float) -> FileStat:
    past = path.stat().st_mtime_ns - int(seconds * 1e9)
    os.utime(path, ns=(past, past))
    return FileStat.of(path.stat())


def test_remembers_files_older_than_the_racy_window(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "stat.sqlite")
    old = tmp_path / "old.bin"
    old.write_bytes(b"x")
    stat = _aged(old, RACY_SECONDS + 5)
    cache.store([(str(old), stat, "h" * 64)], "blake3", hashed_from_ns=time.time_ns())
    assert cache.lookup(str(old), "blake3") == (stat, "h" * 64)
    row = (stat.size, stat.mtime_ns, stat.inode, "h" * 64)
    assert cache.lookup_folder(str(tmp_path), "blake3") == {str(tmp_path): {"old.bin": [*row]}}
    assert cache.lookup_row(str(old), "blake3") == row
    assert cache.lookup(str(old), "sha256") is None


def test_does_not_trust_a_file_written_just_now(tmp_path: Path) -> None:
    """Racily clean: same size, same coarse mtime tick, other bytes would go unnoticed."""
    cache = StatCache(tmp_path / "stat.sqlite")
    fresh = tmp_path / "fresh.bin"
    fresh.write_bytes(b"x")
    stat = FileStat.of(fresh.stat())
    cache.store([(str(fresh), stat, "h" * 64)], "blake3", hashed_from_ns=stat.mtime_ns + 1000)
    assert cache.lookup(str(fresh), "blake3") is None


def test_unwritable_location_disables_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = StatCache(blocker / "stat.sqlite")
    cache.store([("/x", FileStat(1, 1, 1), "h" * 64)], "blake3", hashed_from_ns=time.time_ns())
    assert cache.lookup("/x", "blake3") is None


def test_the_racy_window_is_measured_from_when_the_file_was_read(tmp_path: Path) -> None:
    """A long hashing batch must not age a file that was read right after it was written."""
    cache = StatCache(tmp_path / "stat.sqlite")
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    stat = FileStat.of(path.stat())
    cache.store([(str(path), stat, "h" * 64)], "blake3", hashed_from_ns=stat.mtime_ns + 1_000_000)
    assert cache.lookup(str(path), "blake3") is None


def test_sub_second_mtimes_get_the_short_window() -> None:
    second = 1_700_000_000 * 1_000_000_000
    fine = second + 123_456_789
    fine_window = int(FINE_RACY_SECONDS * 1e9)
    assert is_racy(fine, fine + fine_window - 1)
    assert not is_racy(fine, fine + fine_window + 1)
    # Whole-second mtimes (FAT, HFS+, some network mounts) keep the 2 s window.
    assert is_racy(second, second + fine_window + 1)
    assert is_racy(second, second + int(RACY_SECONDS * 1e9) - 1)
    assert not is_racy(second, second + int(RACY_SECONDS * 1e9) + 1)
