"""Progress reporting: hashing, upload and download report their bytes to the installed reporter."""

from __future__ import annotations

import errno
import os
import threading
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import progress

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class Recorder:
    """A thread-safe reporter that remembers every task: name, total, units advanced."""

    def __init__(self) -> None:
        self.tasks: list[dict[str, object]] = []
        self.amounts: dict[int, list[int]] = {}
        self.ok: dict[int, bool] = {}
        self._lock = threading.Lock()

    def start(self, name: str, total: int | None, unit: str) -> int:
        with self._lock:
            self.tasks.append(
                {"name": name, "total": total, "unit": unit, "done": 0, "ended": False}
            )
            self.amounts[len(self.tasks) - 1] = []
            return len(self.tasks) - 1

    def advance(self, task: int, amount: int) -> None:
        with self._lock:
            done = self.tasks[task]["done"]
            assert isinstance(done, int)
            self.tasks[task]["done"] = done + amount
            self.amounts[task].append(amount)

    def finish(self, task: int, ok: bool = True) -> None:
        self.tasks[task]["ended"] = True
        self.ok[task] = ok

    def steps(self, name: str) -> list[int]:
        """The amounts the one task called ``name`` advanced by, in order."""
        (index,) = [i for i, t in enumerate(self.tasks) if t["name"] == name]
        return self.amounts[index]

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


# ------------------------------------------------------------ inside one large file (issue 20)

LARGE = 20 << 20  # one object of its own; 8 MiB local chunks, s3transfer's smaller ones


def test_a_large_file_reports_its_bytes_while_they_move(
    any_registry: dataver.Registry, tmp_path: Path
) -> None:
    """Uploading or downloading one large file moves the bar on the way, not at the end."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "large.bin").write_bytes(os.urandom(LARGE))
    recorder = Recorder()
    with progress.reporting(recorder):
        ds = any_registry.create("large")
        ds.add_files(src)
        ds.upload()
        ds.finalize()
        tree = ds.get_local_copy()
    assert (tree / "large.bin").read_bytes() == (src / "large.bin").read_bytes()
    for name in ("upload", "download"):
        steps = recorder.steps(name)
        assert sum(steps) == LARGE, name
        assert len(steps) >= 3, f"{name}: {steps}"  # before the fix: one step of LARGE
        assert max(steps) < LARGE, name
        assert all(step > 0 for step in steps), name
    assert all(recorder.ok.values())


def test_a_transfer_reports_at_most_its_size_and_the_rest_at_its_end() -> None:
    seen: list[int] = []
    with progress.transfer(100, seen.append):
        report = progress.transfer_callback()
        assert report is not None
        report(30)
        report(-20)  # a retried part rewinds: nothing is taken back, nothing reported
        report(25)  # up to 35: 5 more than before
        report(500)  # a retry sends everything again: capped at the size
    assert seen == [30, 5, 65]
    seen.clear()
    with progress.transfer(100, seen.append):
        pass  # a store that cannot tell: all at the end
    assert seen == [100]
    seen.clear()

    def failed_transfer() -> None:
        with progress.transfer(100, seen.append):
            callback = progress.transfer_callback()
            assert callback is not None
            callback(40)
            raise OSError("the store failed")

    with pytest.raises(OSError, match="the store failed"):
        failed_transfer()
    assert seen == [40]  # a failed transfer reports no rest
    assert progress.transfer_callback() is None


def test_a_failed_task_is_finished_as_not_ok() -> None:
    recorder = Recorder()

    def interrupted_task() -> None:
        with progress.task("upload", 10) as advance:
            advance(4)
            raise KeyboardInterrupt

    with progress.reporting(recorder), pytest.raises(KeyboardInterrupt):
        interrupted_task()
    assert recorder.ok == {0: False}
    assert recorder.tasks[0]["done"] == 4


@pytest.mark.parametrize("kernel", ["copy_file_range", "sendfile", "neither"])
def test_local_copies_report_chunks_without_the_kernel_copy_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    from dataver.storage import local

    def unsupported(*args: object) -> int:
        raise OSError(errno.EXDEV, "not across file systems")

    if kernel != "copy_file_range":
        monkeypatch.setattr(local, "_copy_file_range", unsupported)
    if kernel == "neither":
        monkeypatch.setattr(local, "_sendfile", unsupported)
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom((2 << 20) + 3))
    monkeypatch.setattr(local, "_COPY_CHUNK", 1 << 20)
    store = local.LocalStore(tmp_path / "store")
    seen: list[int] = []
    with progress.transfer(source.stat().st_size, seen.append):
        store.put_file(source, "objects/ab/abc")
    assert seen == [1 << 20, 1 << 20, 3]
    target = tmp_path / "back.bin"
    seen.clear()
    with progress.transfer(source.stat().st_size, seen.append):
        store.get_file("objects/ab/abc", target)
    assert seen == [1 << 20, 1 << 20, 3]
    assert target.read_bytes() == source.read_bytes()
