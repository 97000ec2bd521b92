"""A single writer's sync of a large folder that changed compares it a piece at a time
(issue 24): never the scan's rows nor the stat cache's rows of the whole folder at once.

``SYNC_HOLDS`` (the folder size from which a sync stops holding the walk) and
``FINGERPRINT_PIECE`` (the files of a piece) are made small here, so a few hundred files take
the path a million files take; nothing is timed.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from dataver.ops import change
from dataver.statcache import RACY_SECONDS, StatCache

if TYPE_CHECKING:
    from pathlib import Path

    import dataver

PIECE = 16
PER_FOLDER = 10


def _tree(root: Path, names: list[str]) -> Path:
    past = time.time_ns() - int((RACY_SECONDS + 10) * 1e9)  # NOTE: out of the racy window
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(name)
        os.utime(target, ns=(past, past))
    return root


def _names(folders: int) -> list[str]:
    return [f"d{d:02}/f{f:02}" for d in range(folders) for f in range(PER_FOLDER)]


@pytest.fixture
def in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every folder counts as large; a piece is ``PIECE`` files."""
    monkeypatch.setattr(change, "SYNC_HOLDS", 0)
    monkeypatch.setattr(change, "FINGERPRINT_PIECE", PIECE)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """The stat cache's folder look-ups: how many folders each call asked for."""
    calls: dict[str, list[int]] = {"lookup_folder": [], "lookup_folders": []}
    whole, some = StatCache.lookup_folder, StatCache.lookup_folders

    def lookup_folder(self: StatCache, folder: str, algorithm: str) -> Any:
        calls["lookup_folder"].append(1)
        return whole(self, folder, algorithm)

    def lookup_folders(self: StatCache, folders: Any, algorithm: str) -> Any:
        wanted = set(folders)
        calls["lookup_folders"].append(len(wanted))
        return some(self, wanted, algorithm)

    monkeypatch.setattr(StatCache, "lookup_folder", lookup_folder)
    monkeypatch.setattr(StatCache, "lookup_folders", lookup_folders)
    return calls


def _version(registry: dataver.Registry, folder: Path) -> dataver.Dataset:
    ds = registry.create("ds")
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    return ds


@pytest.mark.usefixtures("in_pieces")
def test_every_file_compared_a_piece_at_a_time(
    registry: dataver.Registry, tmp_path: Path, lookups: dict[str, list[int]]
) -> None:
    folder = _tree(tmp_path / "src", _names(30))  # 300 files: 19 pieces of 16
    parent = _version(registry, folder)
    for calls in lookups.values():
        calls.clear()  # NOTE: add_files (the parent) holds its folder: not what is tested
    child = registry.create("ds", parents=[parent])
    assert child.sync_folder(folder) == (0, 0, 0)  # no last sync: every file compared
    assert lookups["lookup_folder"] == []  # never the whole folder's rows
    asked = lookups["lookup_folders"]
    assert len(asked) == -(-300 // PIECE)
    # NOTE: a piece's own folders, less the one carried from the piece before.
    assert max(asked) <= -(-PIECE // PER_FOLDER) + 1
    assert sum(asked) <= 30 + len(asked)


@pytest.mark.usefixtures("in_pieces")
def test_pieces_find_what_the_whole_folder_finds(
    registry: dataver.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _tree(tmp_path / "src", _names(12))
    parent = _version(registry, folder)
    # Removed at the start, between pieces and at the end; added, modified, a new folder.
    for name in ("d00/f00", "d01/f06", "d05/f05", "d11/f09"):
        (folder / name).unlink()
    _tree(folder, ["d03/new", "d13/f00", "a-first"])
    (folder / "d07/f02").write_text("changed, a longer text")
    in_pieces = registry.create("ds", parents=[parent])
    found = in_pieces.sync_folder(folder)
    monkeypatch.setattr(change, "SYNC_HOLDS", 1_000_000)
    whole = registry.create("ds", parents=[parent])
    assert whole.sync_folder(folder) == found == (4, 3, 1)
    in_pieces.finalize(auto_upload=True)
    whole.finalize(auto_upload=True)
    assert in_pieces.list_files() == whole.list_files()
    assert {e.path: e.hash for e in in_pieces.entries()} == {
        e.path: e.hash for e in whole.entries()
    }


@pytest.mark.usefixtures("in_pieces")
def test_an_emptied_folder_removes_everything(registry: dataver.Registry, tmp_path: Path) -> None:
    names = _names(3)
    folder = _tree(tmp_path / "src", names)
    parent = _version(registry, folder)
    for name in names:
        (folder / name).unlink()
    child = registry.create("ds", parents=[parent])
    assert child.sync_folder(folder) == (len(names), 0, 0)
