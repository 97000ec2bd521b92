"""Concurrency (behaviour 9), leases and dead writers, with real processes on one registry.

Racing workers (``_worker.py``) print ``ready`` once they hold what they need and block on
stdin; the test releases them all at once, so the race is real and needs no sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import ConflictError, InvalidTransitionError, State

if TYPE_CHECKING:
    from pathlib import Path

Spawn = Callable[..., subprocess.Popen[str]]


def race(procs: list[subprocess.Popen[str]]) -> list[dict]:
    """Wait until every worker is ready, release them together, return their JSON results."""
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "ready\n", line + (proc.stderr.read() if proc.stderr else "")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_concurrency_eight_processes_get_eight_distinct_versions(
    registry_path: Path, tmp_path: Path, spawn_worker: Spawn, read_tree: Callable
) -> None:
    folders = []
    for i in range(8):
        folder = tmp_path / f"src{i}"
        folder.mkdir()
        (folder / "who.txt").write_text(f"writer {i}")
        folders.append(folder)
    procs = [spawn_worker("create", str(registry_path), "shared", str(f)) for f in folders]
    results = race(procs)

    versions = sorted(r["version"] for r in results)
    assert versions == [f"1.0.{i}" for i in range(8)]  # distinct, and no gaps
    assert len({r["id"] for r in results}) == 8
    assert {r["state"] for r in results} == {"final"}

    reg = dataver.Registry(registry_path)
    assert len(reg.datasets()) == 1  # the dataset record itself was created once
    listed = reg.list(name="shared")
    assert sorted(d.version for d in listed) == versions
    assert reg.get(name="shared").version == "1.0.7"
    # Every version holds exactly what its own writer added.
    for result, folder in zip(results, folders, strict=True):
        ds = reg.get(result["id"])
        assert ds.version == result["version"]
        assert read_tree(ds.get_local_copy()) == read_tree(folder)
    assert reg.create("shared").version == "1.0.8"


def test_concurrency_two_processes_finalizing_one_version(
    registry: dataver.Registry, registry_path: Path, tmp_path: Path, spawn_worker: Spawn
) -> None:
    (tmp_path / "f.txt").write_bytes(b"finalize me once")
    ds = registry.create("ds")
    ds.add_files(tmp_path / "f.txt")
    ds.upload()
    procs = [spawn_worker("finalize", str(registry_path), ds.id) for _ in range(2)]
    results = race(procs)

    outcomes = sorted(r["outcome"] for r in results)
    # Both read the version while it was Uploading: the compare-and-swap lets exactly one
    # through; the other learns that someone else finalized it, or is finalizing it (its
    # swap may meet the winner's closing mark, or its Final state).
    assert outcomes == ["ConflictError", "ok"]
    loser = next(r for r in results if r["outcome"] == "ConflictError")
    if loser["fields"]["state"] == "final":
        assert "became final by another writer" in loser["message"]
    else:
        assert "is being finalized by another process" in loser["message"]
    assert loser["fields"]["version_id"] == ds.id
    winner = next(r for r in results if r["outcome"] == "ok")
    assert winner["state"] == "final"
    fresh = registry.get(ds.id)
    assert fresh.state is State.FINAL
    assert fresh.stats.files == 1
    assert fresh.stats.stored_bytes == len(b"finalize me once")


def test_finalize_that_meets_another_finalize_closing_says_so(
    registry: dataver.Registry,
) -> None:
    """The loser of two finalize calls may meet the winner's closing mark first."""
    from dataver.ops.transition import make_lease

    ds = registry.create("ds")
    late = registry.get(ds.id, states=None)
    elsewhere = make_lease(60, owner="another-host:4242")
    ds._swap(lambda r: r.model_copy(update={"closing": elsewhere}))
    with pytest.raises(ConflictError, match="is being finalized by another process") as info:
        late.finalize()
    assert info.value.fields["state"] == "uploading"
    fresh = registry.get(ds.id, states=None)
    with pytest.raises(ConflictError, match="is being finalized by another process"):
        fresh.finalize()


def test_a_closing_mark_this_process_left_is_taken_over_by_its_next_finalize(
    registry: dataver.Registry,
) -> None:
    """A finalize that failed (out of retries) may fail to remove its own closing mark too:
    the same process's next finalize goes on, instead of waiting for the mark to expire."""
    from dataver.ops.transition import make_lease

    ds = registry.create("ds")
    ds._swap(lambda r: r.model_copy(update={"closing": make_lease(600)}))
    again = registry.get(ds.id, states=None)
    again.finalize()
    assert registry.get(ds.id).state is State.FINAL


def test_finalize_of_a_version_already_seen_final_is_an_invalid_transition(
    registry: dataver.Registry,
) -> None:
    """A writer that reads the version only after another finalized it sees state Final."""
    ds = registry.create("ds")
    late = registry.get(ds.id, states=None)
    ds.finalize()
    with pytest.raises(ConflictError, match="became final"):
        late.finalize()  # read while Uploading: the CAS fails
    later = registry.get(ds.id)
    with pytest.raises(InvalidTransitionError, match="it is final, must be uploading"):
        later.finalize()  # read after: the state guard refuses
    assert registry.get(ds.id).state is State.FINAL


def test_a_stale_handle_cannot_overwrite_a_newer_record(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    one = registry.create("ds")
    two = registry.get(one.id, states=None)
    assert one.add_files(tmp_path / "a") == 1
    with pytest.raises(ConflictError, match="was changed by another writer"):
        two.add_files(tmp_path / "b")
    assert registry.get(one.id, states=None).list_files() == ["a"]
    assert two.reload().add_files(tmp_path / "b") == 1
    assert registry.get(one.id, states=None).list_files() == ["a", "b"]


def test_stale_lease_is_reported_and_can_be_aborted(
    registry_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "f").write_bytes(b"f")
    healthy = dataver.Registry(registry_path).create("healthy")
    assert healthy.is_stale is False

    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "0.01")
    reg = dataver.Registry(registry_path)
    writer = reg.create("ds")
    writer.add_files(tmp_path / "f")
    time.sleep(0.05)  # several lease lengths: the writer stopped renewing
    seen = reg.get(writer.id, states=None)
    assert seen.is_stale is True
    assert reg.get(healthy.id, states=None).is_stale is False
    seen.abort("writer died")
    assert seen.state is State.ABORTED
    assert seen.is_stale is False
    fresh = reg.get(writer.id, states=None)
    assert (fresh.state, fresh.error, fresh.record.lease) == (State.ABORTED, "writer died", None)
    # The writer coming back cannot resurrect it.
    with pytest.raises(ConflictError, match="became aborted"):
        writer.finalize(auto_upload=True)
    assert reg.get(writer.id, states=None).state is State.ABORTED


def test_killed_writer_leaves_a_stale_version_that_can_be_aborted_and_deleted(
    registry_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spawn_worker: Spawn,
    content_files: Callable[[Path], set[str]],
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.bin").write_bytes(os.urandom(1000))
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "0.2")
    proc = spawn_worker("hold", str(registry_path), "ds", str(src))
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    reg = dataver.Registry(registry_path)
    ds = reg.get(info["id"], states=None)
    assert ds.state is State.UPLOADING
    assert ds.list_files() == ["x.bin"]
    time.sleep(0.3)  # past the 0.2 s lease
    ds.reload()
    assert ds.is_stale is True
    ds.abort("writer was killed")
    assert reg.get(info["id"], states=None).state is State.ABORTED
    reg.delete(info["id"])  # Aborted needs no force
    with pytest.raises(dataver.VersionNotFoundError):
        reg.get(info["id"], states=None)
    assert content_files(registry_path) == set()


def test_concurrent_local_copies_of_one_version(
    finalized: Callable[..., dataver.Dataset],
    registry_path: Path,
    cache_dir: Path,
    spawn_worker: Spawn,
) -> None:
    files = {f"d{i}/f{j}.bin": os.urandom(100 + i * 10 + j) for i in range(4) for j in range(5)}
    ds = finalized(files)
    results = race([spawn_worker("get", str(registry_path), ds.id) for _ in range(4)])
    expected = {path: data.hex() for path, data in files.items()}
    assert all(r["files"] == expected for r in results)
    assert {r["root"] for r in results} == {str(cache_dir / "versions" / ds.id)}
    blobs = [p for p in (cache_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == len(files)  # each distinct content once
    assert list((cache_dir / "tmp").iterdir()) == []  # no half-built trees left behind
