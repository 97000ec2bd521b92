"""Faults: a flaky S3 on every operation, a full disk, a read-only cache, skewed clocks.

S3 faults come from the quick fault proxy in front of the moto server (``_s3quick``): 503
SlowDown, 500 InternalError, connections dropped before or after the server did the work,
slow answers and GET bodies cut in half, all drawn from fixed seeds. The full disk is a real
1 MiB tmpfs; the read-only cache a real read-only mount (root ignores permission bits).
"""

from __future__ import annotations

import contextlib
import errno
import random
import subprocess
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import State
from dataver.errors import DataverError, IntegrityError, StorageError

from ._s3quick import QuickProxy, quick_proxy, quick_s3_url
from .s3server import Faults

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = ["quick_proxy", "quick_s3_url"]  # fixtures used by this module

SEED = 1121
FILES = {f"d{i % 3}/f{i:02d}.bin": random.Random(i).randbytes(200 + 37 * i) for i in range(20)}
FILES["large.bin"] = random.Random(99).randbytes(300_000)


@pytest.fixture(autouse=True)
def small_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files from 64 KiB are single objects: packs (ranged reads) and objects are both hit."""
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", str(64 * 1024))
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "8")
    monkeypatch.setenv("DATAVER_RETRY_MAX_WAIT", "0.2")


def _lifecycle(url: str, src: Path, read_tree: Callable[[Path], dict[str, bytes]]) -> str:
    """Every operation a user makes, start to end; returns the published version's id."""
    registry = dataver.Registry(url)
    ds = registry.create("flaky", tags=["t"], metadata={"k": 1})
    assert ds.add_files(src) == len(FILES)
    ds.upload(max_workers=2)
    ds.finalize()
    ds.publish()
    child = registry.create("flaky", parents=[ds])
    child.remove_files("d0/*")
    child.finalize(auto_upload=True)
    assert read_tree(registry.get(name="flaky", version=ds.version).get_local_copy()) == FILES
    with registry.get(ds.id).open("large.bin") as handle:
        assert handle.read() == FILES["large.bin"]
    assert ds.verify() == []
    assert child.list_files() == sorted(p for p in FILES if not p.startswith("d0/"))
    assert [d.version for d in registry.list(name="flaky", project="default")] == ["1.0.1", "1.0.0"]
    scrap = registry.create("flaky", parents=[child])
    scrap.abort("scrapped")
    registry.delete(scrap.id)
    registry.gc(dry_run=False, grace_seconds=0)
    return ds.id


def test_every_operation_survives_a_flaky_s3(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
) -> None:
    src = write_tree(tmp_path / "src", FILES)
    quick_proxy.reset(Faults(rate=0.2, seed=SEED))  # 503, 500, drops before/after, slow
    quick_proxy.truncate(0.1, seed=SEED)  # and one GET body in ten cut in half
    try:
        version_id = _lifecycle(quick_s3_url, src, read_tree)
    finally:
        injected, cut = list(quick_proxy.injected), quick_proxy.truncated
        quick_proxy.reset()
        quick_proxy.truncate(0.0)
    kinds = {kind for _, _, kind in injected}
    assert kinds == {"503", "500", "drop-before", "drop-after", "slow"}
    assert {method for method, _, _ in injected} >= {"GET", "PUT", "HEAD"}
    assert cut > 0
    registry = dataver.Registry(quick_s3_url)
    report = registry.fsck(grace_seconds=0)
    assert report.ok, report.problems
    assert registry.get(version_id).state is State.PUBLISHED


def test_truncated_downloads_never_yield_wrong_bytes(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = dataver.Registry(quick_s3_url)
    ds = registry.create("cut")
    ds.add_files(write_tree(tmp_path / "src", FILES))
    ds.finalize(auto_upload=True)
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "3")  # few retries: a read may run out
    quick_proxy.truncate(0.3, seed=SEED)
    outcomes: list[str] = []
    try:
        for attempt in range(6):
            monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / f"cache-{attempt}"))
            try:
                root = dataver.Registry(quick_s3_url).get(ds.id).get_local_copy()
            except DataverError as exc:
                outcomes.append(_failure(exc))
                continue
            assert read_tree(root) == FILES  # whatever got through is byte-exact
            outcomes.append("ok")
    finally:
        quick_proxy.truncate(0.0)
    assert quick_proxy.truncated > 0
    assert "ok" in outcomes, outcomes
    # Out of retries: a storage error naming the S3 call, never a crash or bad bytes.
    assert set(outcomes) <= {"ok", "storage"}, outcomes


def _failure(exc: DataverError) -> str:
    is_storage = isinstance(exc, (StorageError, IntegrityError)) and "S3" in str(exc)
    return "storage" if is_storage else repr(exc)


# ------------------------------------------------------------------ full disk, read-only cache


@contextlib.contextmanager
def _mounted(folder: Path, options: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_during_get_fails_cleanly_and_a_retry_with_room_works(
    registry: dataver.Registry,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = {f"part{i}.bin": random.Random(i).randbytes(400_000) for i in range(4)}  # 1.6 MB
    ds = registry.create("big")
    ds.add_files(write_tree(tmp_path / "src", big))
    ds.finalize(auto_upload=True)
    with _mounted(tmp_path / "small-disk", "size=1m") as disk:
        monkeypatch.setenv("DATAVER_CACHE_DIR", str(disk / "cache"))
        with pytest.raises(OSError, match=r"(?i)no space left"):
            dataver.Registry(registry.url).get(ds.id).get_local_copy()
        versions = disk / "cache" / "versions"
        assert not versions.exists() or list(versions.iterdir()) == []  # no tree half-made
    assert registry.fsck().ok  # the registry is untouched
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "roomy"))
    assert read_tree(dataver.Registry(registry.url).get(ds.id).get_local_copy()) == big


def test_a_read_only_cache_is_refused_with_a_clear_error(
    finalized: Callable[..., dataver.Dataset],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = finalized({"a.txt": b"alpha"})
    with _mounted(tmp_path / "ro", "ro,size=1m") as folder:
        monkeypatch.setenv("DATAVER_CACHE_DIR", str(folder / "cache"))
        with pytest.raises(OSError, match=r"(?i)read-only file system") as failed:
            dataver.Registry(ds.registry.url).get(ds.id).get_local_copy()
        assert failed.value.errno in (errno.EROFS, None)
        assert not any(folder.iterdir())


# ---------------------------------------------------------------------------------- clocks


def _skew(monkeypatch: pytest.MonkeyPatch, offset: timedelta) -> None:
    """Make this process's record clock run ``offset`` off (leases, stale checks)."""
    from dataver.ops import create, transition
    from dataver.versions import records

    def skewed() -> object:
        return records.datetime.now(records.timezone.utc) + offset

    for module in (create, transition, records):
        monkeypatch.setattr(module, "utcnow", skewed)


def test_clock_skew_below_the_lease_never_aborts_a_live_writer(
    registry_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "600")
    (tmp_path / "f").write_bytes(b"f")
    with monkeypatch.context() as behind:
        _skew(behind, timedelta(minutes=-9))  # the writer's clock is 9 min slow
        writer = dataver.Registry(registry_path).create("skew")
        writer.add_files(tmp_path / "f")
    watcher = dataver.Registry(registry_path)
    assert watcher.get(writer.id, states=None).is_stale is False
    assert watcher.fsck(repair=True, grace_seconds=0).repaired == ()
    writer.finalize(auto_upload=True)
    assert watcher.get(writer.id).state is State.FINAL


def test_clock_skew_beyond_the_lease_can_abort_a_writer_but_never_corrupts(
    registry_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "600")
    (tmp_path / "f").write_bytes(b"f")
    with monkeypatch.context() as behind:
        _skew(behind, timedelta(hours=-1))  # slower than the lease is long
        writer = dataver.Registry(registry_path).create("skew")
        writer.add_files(tmp_path / "f")
    watcher = dataver.Registry(registry_path)
    assert watcher.get(writer.id, states=None).is_stale is True  # it looks dead to others
    repaired = watcher.fsck(repair=True, grace_seconds=0)
    assert [p.kind for p in repaired.repaired] == ["stale-version"]
    with pytest.raises(dataver.ConflictError, match="became aborted"):
        writer.finalize(auto_upload=True)  # compare-and-swap, not clocks, decides
    assert watcher.get(writer.id, states=None).state is State.ABORTED
    assert watcher.fsck().ok
    # A writer whose clock runs fast only delays the stale verdict; nothing else changes.
    with monkeypatch.context() as ahead:
        _skew(ahead, timedelta(hours=2))
        fast = dataver.Registry(registry_path).create("skew")
    assert watcher.get(fast.id, states=None).is_stale is False
    fast.finalize()
    assert watcher.get(fast.id).state is State.FINAL
