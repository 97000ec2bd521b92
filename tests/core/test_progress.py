"""Progress reporting: hashing, upload and download report their bytes to the installed reporter."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import dataver
from dataver import progress

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class Recorder:
    """A thread-safe reporter that remembers every task: name, total, units advanced."""

    def __init__(self) -> None:
        self.tasks: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def start(self, name: str, total: int | None, unit: str) -> int:
        with self._lock:
            self.tasks.append(
                {"name": name, "total": total, "unit": unit, "done": 0, "ended": False}
            )
            return len(self.tasks) - 1

    def advance(self, task: int, amount: int) -> None:
        with self._lock:
            done = self.tasks[task]["done"]
            assert isinstance(done, int)
            self.tasks[task]["done"] = done + amount

    def finish(self, task: int) -> None:
        self.tasks[task]["ended"] = True

    def named(self, name: str) -> list[dict[str, object]]:
        return [t for t in self.tasks if t["name"] == name]


def test_hash_upload_and_download_report_every_byte(
    registry: dataver.Registry, tmp_path: Path, write_tree: Callable[..., Path]
) -> None:
    files = {"small": b"s" * 1000, "big": b"b" * (2 << 20)}
    total = sum(len(v) for v in files.values())
    src = write_tree(tmp_path / "src", files)
    recorder = Recorder()
    with progress.reporting(recorder):
        ds = registry.create("progress")
        ds.add_files(src)
        ds.upload()
        ds.finalize()
        ds.get_local_copy()
    for name in ("hash", "upload", "download"):
        (task,) = recorder.named(name)
        assert task == {"name": name, "total": total, "unit": "B", "done": total, "ended": True}


def test_nothing_is_reported_without_a_reporter(
    registry: dataver.Registry, tmp_path: Path, write_tree: Callable[..., Path]
) -> None:
    recorder = Recorder()
    with progress.reporting(recorder):
        pass
    ds = registry.create("quiet")
    ds.add_files(write_tree(tmp_path / "src", {"a": b"a"}))
    ds.finalize(auto_upload=True)
    assert recorder.tasks == []


def test_hashing_a_large_file_reports_each_buffer(tmp_path: Path) -> None:
    from dataver.hashing import hash_file

    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 << 20) + b"tail")
    seen: list[int] = []
    assert hash_file(path, "sha256", seen.append) == hash_file(path, "sha256")
    assert sum(seen) == (3 << 20) + 4
    assert len(seen) >= 3  # a bar moves while one big file is hashed
