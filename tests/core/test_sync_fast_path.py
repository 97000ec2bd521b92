"""The no-change fast path of sync_folder: trusted only when scan and manifest both match."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from dataver.ops import change
from dataver.statcache import RACY_SECONDS

if TYPE_CHECKING:
    from pathlib import Path

    import dataver


def _age(folder: Path) -> None:
    past = time.time_ns() - int((RACY_SECONDS + 10) * 1e9)
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(past, past))


def _folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "src"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    _age(root)
    return root


@pytest.fixture
def compare_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the slow-path comparisons sync_folder makes."""
    calls: list[int] = []
    real = change.compare

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(change, "compare", counting)
    return calls


def _parent(registry: dataver.Registry, folder: Path, name: str = "ds") -> dataver.Dataset:
    ds = registry.create(name)
    ds.sync_folder(folder)
    ds.finalize(auto_upload=True)
    return ds


def test_an_unchanged_folder_is_not_compared_again(
    registry: dataver.Registry, tmp_path: Path, compare_calls: list[int]
) -> None:
    folder = _folder(tmp_path, {"a": b"1", "sub/b": b"2"})
    parent = _parent(registry, folder)
    first = registry.create("ds", parents=[parent])
    assert first.sync_folder(folder) == (0, 0, 0)
    calls = len(compare_calls)
    second = registry.create("ds", parents=[parent])
    assert second.sync_folder(folder) == (0, 0, 0)
    assert len(compare_calls) == calls  # the fast path answered
    second.finalize()
    assert second.list_files() == ["a", "sub/b"]


def test_a_changed_file_defeats_the_fast_path(
    registry: dataver.Registry, tmp_path: Path, compare_calls: list[int]
) -> None:
    folder = _folder(tmp_path, {"a": b"1", "b": b"2"})
    parent = _parent(registry, folder)
    registry.create("ds", parents=[parent]).sync_folder(folder)
    (folder / "b").write_bytes(b"3")  # same size, new mtime
    os.utime(folder / "b", ns=(time.time_ns() - int(5e10), time.time_ns() - int(5e10)))
    child = registry.create("ds", parents=[parent])
    calls = len(compare_calls)
    assert child.sync_folder(folder) == (0, 0, 1)
    assert len(compare_calls) == calls + 1
    child.finalize(auto_upload=True)
    assert (child.get_local_copy() / "b").read_bytes() == b"3"


def test_another_manifest_is_never_assumed_to_match(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, {"a": b"1"})
    parent = _parent(registry, folder)
    registry.create("ds", parents=[parent]).sync_folder(folder)
    other = registry.create("other")
    assert other.sync_folder(folder) == (0, 1, 0)  # empty dataset: everything is new


def test_freshly_written_files_are_not_remembered(
    registry: dataver.Registry, tmp_path: Path, compare_calls: list[int]
) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    (folder / "a").write_bytes(b"1")
    # Inside the racy window for the whole test, however slow the machine: mtime in 30 s.
    soon = time.time_ns() + 30 * 1_000_000_000
    os.utime(folder / "a", ns=(soon, soon))
    parent = _parent(registry, folder)
    registry.create("ds", parents=[parent]).sync_folder(folder)
    calls = len(compare_calls)
    registry.create("ds", parents=[parent]).sync_folder(folder)
    assert len(compare_calls) == calls + 1
