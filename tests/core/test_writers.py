"""Many writers building one version: real processes, conflicts, retries, kill -9, leases."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.errors import ConflictError, FormatError, InvalidTransitionError, WritersActiveError
from dataver.layout import writers_prefix

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    Spawn = Callable[..., subprocess.Popen[str]]


def _folder(root: Path, name: str, files: int, tag: str = "") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"f{i:04d}.txt").write_text(f"{name}-{i}{tag}")
    return folder


def _release_all(procs: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("writers", [16])
def test_many_processes_one_version(
    any_registry: dataver.Registry, tmp_path: Path, spawn_worker: Spawn, writers: int
) -> None:
    """16 processes x 500 files into one version: none fails, finalize holds all 8,000."""
    ds = any_registry.create("many")
    url = str(any_registry.url)
    procs = []
    for i in range(writers):
        folder = _folder(tmp_path / "src", f"part{i:02d}", 500)
        procs.append(spawn_worker("contribute", url, ds.id, f"w{i}", str(folder), f"p{i:02d}"))
    results = _release_all(procs)
    assert [r["outcome"] for r in results] == ["ok"] * writers
    assert all(r["added"] == 500 for r in results)
    ds.finalize()
    assert ds.state is dataver.State.FINAL
    assert ds.stats.files == writers * 500
    files = ds.list_files()
    assert len(files) == writers * 500
    copy = ds.get_local_copy()
    for i in (0, writers // 2, writers - 1):
        for j in (0, 499):
            text = (copy / f"p{i:02d}" / f"f{j:04d}.txt").read_text()
            assert text == f"part{i:02d}-{j}"
    assert ds.verify() == []


def test_writer_changes_and_own_changes_merge(registry: dataver.Registry, tmp_path: Path) -> None:
    """Writers' work goes on top of the version's own changes and its parent."""
    parent = registry.create("mix")
    parent.add_files(_folder(tmp_path, "base", 5))
    parent.finalize(auto_upload=True)
    child = registry.create("mix", parents=[parent.id])
    child.add_files(_folder(tmp_path, "own", 3), dataset_path="own")
    child.add_files(_folder(tmp_path, "a", 4), dataset_path="a", writer="A")
    child.remove_files("f0001.txt", recursive=False, writer="B")
    child.finalize(auto_upload=True)
    paths = set(child.list_files())
    assert {"own/f0000.txt", "a/f0003.txt", "f0000.txt"} <= paths
    assert "f0001.txt" not in paths
    assert len(paths) == 5 - 1 + 3 + 4
    assert child.stats.added == 7
    assert child.stats.removed == 1
    assert not list(registry.backend.store.list(writers_prefix(child.id)))


def test_conflict_names_paths_and_writers(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("clash")
    ds.add_files(_folder(tmp_path, "x", 3), writer="alpha")
    ds.add_files(_folder(tmp_path, "y", 2, tag="-other"), writer="beta")  # NOTE: same names
    with pytest.raises(ConflictError) as caught:
        ds.finalize()
    error = caught.value
    for part in ("f0000.txt", "alpha", "beta"):
        assert part in str(error)
    assert error.count == 2  # type: ignore[attr-defined]
    assert error.writers == ["alpha", "beta"]  # type: ignore[attr-defined]
    ds.reload()
    assert ds.state is dataver.State.UPLOADING
    assert ds.record.closing is None
    # NOTE: the same content from two writers is no conflict; the documented option picks
    # the writer whose name sorts last.
    ds.finalize(on_conflict="writer-order")
    copy = ds.get_local_copy()
    assert (copy / "f0000.txt").read_text() == "y-0-other"
    assert (copy / "f0002.txt").read_text() == "x-2"


def test_same_content_from_two_writers_is_no_conflict(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    ds = registry.create("same")
    folder = _folder(tmp_path, "s", 3)
    ds.add_files(folder, writer="one")
    ds.add_files(folder, writer="two")
    ds.finalize()
    assert ds.stats.files == 3


def test_remove_from_one_add_from_another(registry: dataver.Registry, tmp_path: Path) -> None:
    """A removal and new content for the same path: the content stays (docs/scale.md)."""
    parent = registry.create("rm")
    parent.add_files(_folder(tmp_path, "base", 3))
    parent.finalize(auto_upload=True)
    child = registry.create("rm", parents=[parent.id])
    child.remove_files("*.txt", writer="remover")
    changed = _folder(tmp_path / "new", "base", 1, tag="-new")
    child.add_files(changed, writer="adder")
    child.finalize()
    copy = child.get_local_copy()
    assert sorted(p.name for p in copy.iterdir()) == ["f0000.txt"]
    assert (copy / "f0000.txt").read_text() == "base-0-new"


def test_retry_replaces_its_contribution(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("retry")
    first = _folder(tmp_path, "first", 4)
    ds.add_files(first, dataset_path="d", writer="task-1")
    second = _folder(tmp_path, "second", 2)
    ds.add_files(second, dataset_path="d", writer="task-1")  # NOTE: the retried task
    ds.add_files(first, dataset_path="other", writer="task-2")
    ds.finalize()
    paths = sorted(ds.list_files())
    assert [p for p in paths if p.startswith("d/")] == ["d/f0000.txt", "d/f0001.txt"]
    assert (ds.get_local_copy() / "d/f0001.txt").read_text() == "second-1"
    assert len(paths) == 6


def test_failed_attempt_keeps_last_commit(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("keep")
    ds.add_files(_folder(tmp_path, "a", 2), writer="w")
    folder = _folder(tmp_path, "b", 5)

    def failing_task() -> None:
        with ds.writer("w") as w:
            w.add_files(folder)
            raise RuntimeError("the task failed")

    with pytest.raises(RuntimeError):
        failing_task()
    ds.finalize()
    assert ds.stats.files == 2


def test_finalize_refuses_or_waits_for_live_writer(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    ds = registry.create("wait")
    w = ds.writer("slow")
    w.start()
    w.add_files(_folder(tmp_path, "a", 3))
    with pytest.raises(WritersActiveError) as caught:
        ds.finalize()
    assert "slow" in str(caught.value)
    ds.reload()
    assert ds.record.closing is None
    assert ds.state is dataver.State.UPLOADING
    # NOTE: the writer can still commit after a refused finalize.
    w.commit()
    ds.finalize()
    assert ds.stats.files == 3


def test_finalize_waits_for_writer_in_another_process(
    registry: dataver.Registry, tmp_path: Path, spawn_worker: Spawn
) -> None:
    ds = registry.create("waiting")
    folder = _folder(tmp_path, "a", 20)
    proc = spawn_worker("contribute_hold", str(registry.url), ds.id, "held", str(folder), "", "no")
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "started"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    ds.finalize(wait_for_writers=60)
    assert ds.stats.files == 20
    out, err = proc.communicate(timeout=60)
    assert json.loads(out.strip().splitlines()[-1])["outcome"] == "ok", err


def test_kill_9_writer_is_set_aside_after_lease(
    registry_path: Path, tmp_path: Path, spawn_worker: Spawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed writer: finalize refuses while its lease runs, then ignores its half-done
    attempt (its earlier commit counts); gc reclaims the content it stored."""
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "3")
    registry = dataver.Registry(registry_path)
    ds = registry.create("killed")
    ds.add_files(_folder(tmp_path, "early", 2), dataset_path="k", writer="victim")
    big = _folder(tmp_path, "late", 50)
    proc = spawn_worker(
        "contribute_hold", str(registry_path), ds.id, "victim", str(big), "k", "store"
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with pytest.raises(WritersActiveError):
        ds.finalize()
    ds.reload()
    ds.finalize(wait_for_writers=30)
    assert sorted(ds.list_files()) == ["k/f0000.txt", "k/f0001.txt"]
    record_keys = list(registry.backend.store.list(writers_prefix(ds.id)))
    assert record_keys == []
    # NOTE: the killed attempt's pack is referenced by nothing now: gc reclaims it, and
    # what the version holds survives.
    plan = registry.gc(dry_run=False, grace_seconds=0)
    assert any(k.startswith("packs/") for k in plan.keys)
    registry.backend.cache.drop_version(ds.id)
    assert (ds.get_local_copy() / "k/f0001.txt").read_text() == "early-1"
    assert ds.verify() == []


def test_late_commit_of_set_aside_attempt_fails(
    registry_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "1")
    ds = dataver.Registry(registry_path).create("late")
    w = ds.writer("sleepy")
    w.start()
    w.add_files(_folder(tmp_path, "a", 2))
    assert w._attempt is not None
    # NOTE: a writer frozen past its lease (a long pause) stops renewing: emulate it.
    time.sleep(1.2)
    ds.finalize()
    with pytest.raises((ConflictError, InvalidTransitionError)):
        w.commit()
    assert ds.stats.files == 0


def test_writer_cannot_start_while_closing_or_final(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    ds = registry.create("closing")
    folder = _folder(tmp_path, "a", 1)

    def dying_finalize() -> None:
        with ds._closing():
            with pytest.raises(ConflictError, match="being finalized"):
                ds.add_files(folder, writer="late")
            raise RuntimeError("finalize died")

    with pytest.raises(RuntimeError, match="finalize died"):
        dying_finalize()
    ds.reload()
    assert ds.record.closing is None
    ds.add_files(folder, writer="late")
    ds.finalize()
    assert ds.stats.files == 1
    with pytest.raises(InvalidTransitionError):
        ds.add_files(_folder(tmp_path, "b", 1), writer="after")


def test_forged_writer_record_is_refused(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("forged")
    ds.add_files(_folder(tmp_path, "a", 2), writer="honest")
    store = registry.backend.store
    [info] = list(store.list(writers_prefix(ds.id)))
    raw = json.loads(store.read(info.key))
    raw["committed"]["changes"] = ["../../versions/x"]
    store.write(info.key, json.dumps(raw).encode())
    with pytest.raises(FormatError, match="not addresses"):
        ds.finalize()
    raw["name"] = "someone-else"
    store.write(info.key, json.dumps(raw).encode())
    with pytest.raises(FormatError, match="does not belong"):
        ds.finalize()


def test_writers_listing(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("listing")
    ds.add_files(_folder(tmp_path, "a", 3), writer="b-writer")
    ds.add_files(_folder(tmp_path, "b", 1), dataset_path="x", writer="a-writer")
    names = [(w.name, w.committed.files if w.committed else None) for w in ds.writers()]
    assert names == [("a-writer", 1), ("b-writer", 3)]


def test_bad_writer_input_changes_nothing(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("bad")
    for bad in ("", "a\x00b", "x" * 5000):
        with pytest.raises(dataver.ValidationError):
            ds.add_files(_folder(tmp_path, f"d{len(bad)}", 1), writer=bad)
    with pytest.raises(dataver.ValidationError, match="on_conflict"):
        ds.finalize(on_conflict="newest")  # type: ignore[arg-type]
    assert ds.writers() == []


def test_parts_give_each_file_to_one_writer(registry: dataver.Registry, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    for i in range(60):
        sub = folder / f"d{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:03d}.bin").write_bytes(bytes([i]) * (i + 1))
    parts = dataver.partition(folder, 4, by="bytes")
    ds = registry.create("parts")
    counts = [
        ds.add_files(folder, dataset_path="data", part=p.to_dict(), writer=f"part-{p.index}")
        for p in parts
    ]
    assert sum(counts) == 60
    assert all(counts)
    ds.finalize()
    assert ds.stats.files == 60
    assert (ds.get_local_copy() / "data/d3/f010.bin").read_bytes() == bytes([10]) * 11


def test_sync_of_a_part_leaves_other_parts_alone(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, "src", 40)
    parts = dataver.partition(folder, 2)
    parent = registry.create("sync-parts")
    parent.add_files(folder)
    parent.finalize(auto_upload=True)
    (folder / "f0001.txt").unlink()  # NOTE: in part 0
    (folder / "f0039.txt").write_text("changed")  # NOTE: in part 1
    child = registry.create("sync-parts", parents=[parent.id])
    assert child.sync_folder(folder, part=parts[0], writer="p0") == (1, 0, 0)
    assert child.sync_folder(folder, part=parts[1], writer="p1") == (0, 0, 1)
    child.finalize()
    assert child.stats.files == 39
    assert (child.get_local_copy() / "f0039.txt").read_text() == "changed"
