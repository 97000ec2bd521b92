"""The stat cache: unchanged files are not re-hashed, recently written ones are not trusted."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from dataver import statcache
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


@pytest.mark.parametrize("patch", [True, False], ids=["json_patch", "read-modify-write"])
def test_stores_merge_into_a_folders_row(tmp_path: Path, patch: bool) -> None:
    """Later stores add to (and update in) the folder's row; other files stay cached."""
    cache = StatCache(tmp_path / "stat.sqlite")
    cache._patch = patch  # NOTE: both ways must agree; which one runs depends on SQLite
    files = [tmp_path / name for name in ("a.bin", "b.bin", "c.bin")]
    stats = []
    for path in files:
        path.write_bytes(path.name.encode())
        stats.append(_aged(path, RACY_SECONDS + 5))
    first = [(str(files[0]), stats[0], "a" * 64), (str(files[1]), stats[1], "b" * 64)]
    cache.store(first, "blake3", hashed_from_ns=time.time_ns())
    later = [(str(files[1]), stats[1], "d" * 64), (str(files[2]), stats[2], "c" * 64)]
    cache.store(later, "blake3", hashed_from_ns=time.time_ns())
    rows = cache.lookup_folder(str(tmp_path), "blake3")[str(tmp_path)]
    assert {name: row[3] for name, row in rows.items()} == {
        "a.bin": "a" * 64,
        "b.bin": "d" * 64,
        "c.bin": "c" * 64,
    }
    assert rows["a.bin"][:3] == [*stats[0]]  # NOTE: 19-digit mtimes survive SQLite's JSON


def test_a_malformed_row_is_replaced_not_fatal(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "stat.sqlite")
    assert cache._db is not None
    cache._db.execute("INSERT INTO folders_v2 VALUES (?, 'blake3', '{not json')", (str(tmp_path),))
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    stat = _aged(path, RACY_SECONDS + 5)
    cache.store([(str(path), stat, "h" * 64)], "blake3", hashed_from_ns=time.time_ns())
    assert cache.lookup(str(path), "blake3") == (stat, "h" * 64)


def test_this_sqlite_merges_rows_itself(tmp_path: Path) -> None:
    """SQLite >= 3.38 has json_patch built in (Python 3.11+ builds ship newer ones)."""
    assert StatCache(tmp_path / "stat.sqlite")._patch


@pytest.mark.parametrize("patch", [True, False], ids=["json_patch", "read-modify-write"])
def test_changes_to_a_cached_folder_are_single_rows_until_folded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patch: bool
) -> None:
    """A folder's row is written once; later changes are one small row per file (cheap to
    write), read over it, and folded into it once more than RECENT_MAX accumulate."""
    monkeypatch.setattr(statcache, "RECENT_MAX", 3)
    cache = StatCache(tmp_path / "stat.sqlite")
    cache._patch = patch
    assert cache._db is not None
    paths = [tmp_path / f"{i}.bin" for i in range(6)]
    stats = []
    for path in paths:
        path.write_bytes(path.name.encode())
        stats.append(_aged(path, RACY_SECONDS + 5))

    def store(indexes: range, digest: str) -> None:
        rows = [(str(paths[i]), stats[i], digest * 64) for i in indexes]
        cache.store(rows, "blake3", hashed_from_ns=time.time_ns())

    def hashes() -> dict[str, str]:
        rows = cache.lookup_folder(str(tmp_path), "blake3")[str(tmp_path)]
        return {name: row[3] for name, row in rows.items()}

    def singles() -> int:
        assert cache._db is not None
        count: int = cache._db.execute("SELECT COUNT(*) FROM recent_v2").fetchone()[0]
        return count

    store(range(4), "a")  # NOTE: a new folder: one folder row, no single rows
    assert singles() == 0
    store(range(1, 3), "b")
    assert singles() == 2
    assert hashes() == {"0.bin": "a" * 64, "1.bin": "b" * 64, "2.bin": "b" * 64, "3.bin": "a" * 64}
    assert cache.lookup(str(paths[1]), "blake3") == (stats[1], "b" * 64)
    store(range(2, 6), "c")  # NOTE: 2 + 4 single rows > RECENT_MAX: folded
    assert singles() == 0
    assert hashes() == {
        "0.bin": "a" * 64,
        "1.bin": "b" * 64,
        **{f"{i}.bin": "c" * 64 for i in range(2, 6)},
    }
    assert StatCache(tmp_path / "stat.sqlite").lookup(str(paths[5]), "blake3") == (
        stats[5],
        "c" * 64,
    )
