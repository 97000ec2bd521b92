"""Hangs and malformed answers: every build through a broken S3 ends, byte-exact or cleanly.

The quick fault proxy in front of the moto server injects the faults that once hung builds or
handed dataver raw parse errors (``s3server.HANGS``): a hang-up right after ``100 Continue``,
answers cut inside their headers or their body, answers that never come (``stall``) and answers
dribbled a byte at a time (``drip``, which no read timeout catches). Deadlines are short here
(read timeout 1.5 s, 3 s per call without progress), so a hang costs seconds, not minutes.

Each test's pytest-timeout is the bound on "ends": no test measures time. A build either
completes with exact bytes, or fails with a dataver error; then, with the faults gone, it is
resumed (or ``fsck --repair`` cleans what it left) and completes, and ``fsck`` is clean.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import boto3
import pytest

import dataver
from dataver import State
from dataver.errors import DataverError, IntegrityError

from ._s3quick import QuickProxy, quick_proxy, quick_s3_url
from .s3server import FAULTS, HANGS, Faults

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["quick_proxy", "quick_s3_url"]  # fixtures used by this module

log = logging.getLogger(__name__)  # NOTE: figures for docs/reliability.md: --log-cli-level=INFO
SEED = 1818
FILES = {f"d{i % 3}/f{i:02d}.bin": random.Random(i).randbytes(300 + 53 * i) for i in range(16)}
FILES["large.bin"] = random.Random(7).randbytes(300_000)  # a single object: transfer manager

ReadTree = "Callable[[Path], dict[str, bytes]]"


@pytest.fixture(autouse=True)
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds-long deadlines, patient retries, and both packs and single objects."""
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", str(64 * 1024))
    monkeypatch.setenv("DATAVER_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("DATAVER_READ_TIMEOUT", "1.5")
    monkeypatch.setenv("DATAVER_OPERATION_TIMEOUT", "3")
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "6")
    monkeypatch.setenv("DATAVER_RETRY_MAX_WAIT", "0.2")


def _fresh_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / f"cache-{name}"))


# ------------------------------------------------------------------ 100 Continue


@pytest.mark.timeout(120)
def test_no_request_asks_for_100_continue(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
) -> None:
    """botocore adds ``Expect: 100-continue`` to file bodies; dataver's client never does."""
    ds = dataver.Registry(quick_s3_url).create("expect")
    ds.add_files(write_tree(tmp_path / "src", FILES))
    ds.finalize(auto_upload=True)
    assert quick_proxy.count("PUT", "/objects/") > 0  # the large file went as a file body
    assert quick_proxy.expect_continue == 0
    assert read_tree(ds.get_local_copy()) == FILES


@pytest.mark.timeout(120)
def test_a_hang_up_right_after_100_continue_is_retried(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
) -> None:
    """Once a build spun forever in botocore's ``_consume_headers`` (reading b"" at EOF)."""
    ds = dataver.Registry(quick_s3_url).create("continue")
    ds.add_files(write_tree(tmp_path / "src", FILES))
    quick_proxy.reset(
        Faults(rate=1.0, kinds=("cut-continue",), methods=("PUT",), paths=("/objects/",), limit=2)
    )
    try:
        ds.finalize(auto_upload=True)
    finally:
        injected = list(quick_proxy.injected)
        quick_proxy.reset()
    assert [kind for _, _, kind in injected] == ["cut-continue", "cut-continue"]
    assert read_tree(ds.get_local_copy()) == FILES


# ------------------------------------------------------------------ builds through every fault


def _build(url: str, src: Path, name: str, read_tree: Callable[[Path], dict[str, bytes]]) -> str:
    """Create, add, upload, finalize, read back; return the version id (raises on failure)."""
    ds = dataver.Registry(url).create(name)
    try:
        ds.add_files(src)
        ds.finalize(auto_upload=True)
        got = read_tree(dataver.Registry(url).get(ds.id).get_local_copy())
    except DataverError as exc:
        exc.version_id = ds.id  # type: ignore[attr-defined]  # NOTE: for _resume
        raise
    assert got == FILES  # never wrong bytes: a mismatch fails the test at once
    return ds.id


def _resume(url: str, src: Path, name: str, version_id: str | None) -> str:
    """With the faults gone: finish what a failed build left (or build again)."""
    registry = dataver.Registry(url)
    ds = registry.create(name) if version_id is None else registry.get(version_id, states=None)
    if ds.state is State.UPLOADING:
        ds.add_files(src)
        ds.finalize(auto_upload=True)
    assert ds.state is State.FINAL
    return ds.id


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", [*HANGS, "all"])
def test_builds_through_hangs_and_cut_answers_end_exact_or_cleanly(
    kind: str,
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = write_tree(tmp_path / "src", FILES)
    kinds = (*HANGS, *FAULTS) if kind == "all" else (kind,)
    slow = kind in ("stall", "drip", "all")  # NOTE: each costs a deadline: fewer of them
    quick_proxy.reset(Faults(rate=0.1 if slow else 0.2, seed=SEED, kinds=kinds, drip_interval=0.25))
    outcomes: list[tuple[str, str | None]] = []
    try:
        for n in range(3 if kind == "all" else 2):
            _fresh_cache(monkeypatch, tmp_path, f"build-{n}")
            try:
                outcomes.append(("ok", _build(quick_s3_url, src, "hangs", read_tree)))
            except DataverError as exc:
                log.info("build failed: %r", exc)
                outcomes.append((type(exc).__name__, getattr(exc, "version_id", None)))
    finally:
        injected = [k for _, _, k in quick_proxy.injected]
        quick_proxy.reset()
    log.info("figures %s: %d faults, outcomes %s", kind, len(injected), [o for o, _ in outcomes])
    assert set(injected) == set(kinds) if kind != "all" else len(set(injected)) >= 5
    # Failures are storage errors out of retries, never a parse error or a wrong answer.
    failures = {o for o, _ in outcomes if o != "ok"}
    assert failures <= {"TransientStorageError", "StorageError"}, outcomes

    ids = [_resume(quick_s3_url, src, "hangs", vid) for status, vid in outcomes if status != "ok"]
    ids += [vid for status, vid in outcomes if status == "ok" and vid is not None]
    registry = dataver.Registry(quick_s3_url)
    registry.fsck(repair=True, grace_seconds=0)
    report = registry.fsck(grace_seconds=0)
    assert report.ok, report.problems
    _fresh_cache(monkeypatch, tmp_path, "after")
    for version_id in ids:
        assert read_tree(dataver.Registry(quick_s3_url).get(version_id).get_local_copy()) == FILES


@pytest.mark.timeout(300)
def test_builds_out_of_retries_fail_cleanly_and_resume(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Few retries and many faults: builds fail part-way, then finish once S3 is healthy."""
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "2")
    src = write_tree(tmp_path / "src", FILES)
    outcomes: list[tuple[str, str]] = []
    injected = 0
    for n in range(4):
        _fresh_cache(monkeypatch, tmp_path, f"build-{n}")
        ds = dataver.Registry(quick_s3_url).create("resumed")  # NOTE: create has its own test
        kinds = (*HANGS, *FAULTS)
        quick_proxy.reset(Faults(rate=0.25, seed=SEED + n, kinds=kinds, drip_interval=0.25))
        try:
            ds.add_files(src)
            ds.finalize(auto_upload=True)
            got = read_tree(dataver.Registry(quick_s3_url).get(ds.id).get_local_copy())
            assert got == FILES
            outcomes.append(("ok", ds.id))
        except DataverError as exc:
            outcomes.append((type(exc).__name__, ds.id))
        finally:
            injected += len(quick_proxy.injected)
            quick_proxy.reset()
    log.info("figures out of retries: %d faults, outcomes %s", injected, [o for o, _ in outcomes])
    failures = [o for o, _ in outcomes if o != "ok"]
    assert failures, outcomes  # the point: builds that ran out of retries part-way
    assert set(failures) <= {"TransientStorageError", "StorageError"}, outcomes
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "6")
    ids = [_resume(quick_s3_url, src, "resumed", v) for _, v in outcomes]
    registry = dataver.Registry(quick_s3_url)
    registry.fsck(repair=True, grace_seconds=0)
    report = registry.fsck(grace_seconds=0)
    assert report.ok, report.problems
    _fresh_cache(monkeypatch, tmp_path, "after")
    for version_id in ids:
        assert read_tree(dataver.Registry(quick_s3_url).get(version_id).get_local_copy()) == FILES


@pytest.mark.timeout(300)
def test_create_under_faults_leaves_nothing_fsck_cannot_repair(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``create`` writes a claim, then a record: cut anywhere, nothing is left for good."""
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "2")  # NOTE: few retries: creates do fail
    quick_proxy.reset(Faults(rate=0.3, seed=SEED, kinds=(*HANGS, *FAULTS), drip_interval=0.25))
    outcomes: list[str] = []
    try:
        for _ in range(8):
            try:
                dataver.Registry(quick_s3_url).create("orphans")
                outcomes.append("ok")
            except DataverError as exc:
                outcomes.append(type(exc).__name__)
    finally:
        injected = len(quick_proxy.injected)
        quick_proxy.reset()
    log.info("figures create: %d faults, outcomes %s", injected, outcomes)
    assert "ok" in outcomes
    assert set(outcomes) - {"ok"}, outcomes  # some creates failed (the point of the test)
    assert set(outcomes) <= {"ok", "TransientStorageError", "StorageError"}, outcomes
    registry = dataver.Registry(quick_s3_url)
    registry.fsck(repair=True, grace_seconds=0)
    report = registry.fsck(grace_seconds=0)
    assert report.ok, report.problems
    ds = registry.create("orphans")  # the dataset still takes versions, each its own string
    ds.finalize()
    taken = [d.version for d in registry.list(name="orphans", states=None)]
    assert len(taken) == len(set(taken))
    assert ds.version in taken


# ------------------------------------------------------------------ the lease of a stuck build

_WRITER = """
import json, sys
import dataver
registry = dataver.Registry(sys.argv[1])
ds = registry.create("stuck")
ds.add_files(sys.argv[2])
print(json.dumps({"id": ds.id}), flush=True)
try:
    ds.finalize(auto_upload=True)
    print(json.dumps({"outcome": "ok"}), flush=True)
except dataver.DataverError as exc:
    print(json.dumps({"outcome": type(exc).__name__, "error": str(exc)}), flush=True)
"""


@pytest.mark.timeout(120)
def test_a_stuck_upload_stops_renewing_its_lease(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A writer stuck on a call that never answers lets its version go stale for others."""
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "1.5")  # NOTE: the heartbeat beats every 0.5 s
    monkeypatch.setenv("DATAVER_READ_TIMEOUT", "60")  # the stall outlasts many lease lengths
    monkeypatch.setenv("DATAVER_OPERATION_TIMEOUT", "60")
    src = write_tree(tmp_path / "src", FILES)
    quick_proxy.reset(Faults(rate=1.0, kinds=("stall",), methods=("PUT",), paths=("/objects/",)))
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, quick_s3_url, str(src)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert writer.stdout is not None
        version_id = json.loads(writer.stdout.readline())["id"]
        while not quick_proxy.injected:  # the large file's PUT is stalled now
            time.sleep(0.05)
        # NOTE: watched from this process: its reads are its own, not the writer's progress.
        registry = dataver.Registry(quick_s3_url)
        while not registry.get(version_id, states=None).is_stale:
            time.sleep(0.1)
        assert writer.poll() is None  # still stuck in its upload, yet stale to everyone else
    finally:
        quick_proxy.reset()  # the stalled answer ends: the writer's retry goes through
        out, err = writer.communicate(timeout=60)
    assert json.loads(out.strip().splitlines()[-1]) == {"outcome": "ok"}, err
    ds = dataver.Registry(quick_s3_url).get(version_id)
    assert ds.state is State.FINAL
    assert read_tree(ds.get_local_copy()) == FILES


# ------------------------------------------------------------------ malformed answers

_CASES = {
    # what the issue saw                 method, path part, header cut, chars of its line kept
    "KeyError 'ContentLength' (HEAD)": ("HEAD", "/objects/", "Content-Length", 0),
    "Invalid timestamp 'Fri, 04 D'": ("GET", "/objects/", "Last-Modified", 24),
    "corrupt registry marker": ("GET", "dataver.json", "Content-Length", 0),
    "an empty listing": ("GET", "list-type=2", "Content-Length", 0),
    "a create without its ETag": ("PUT", "/registry/versions/", "ETag", 0),
    "a create with its ETag cut": ("PUT", "/registry/versions/", "ETag", 12),  # a wrong token
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(_CASES))
def test_a_cut_answer_is_retried_not_raised_or_believed(
    case: str,
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
) -> None:
    registry = dataver.Registry(quick_s3_url)
    ds = registry.create("cut")
    ds.add_files(write_tree(tmp_path / "src", FILES))
    ds.finalize(auto_upload=True)
    large = ds._manifest().get("large.bin")
    assert large is not None
    assert large.hash is not None
    key = f"objects/{large.hash[:2]}/{large.hash}"
    method, path, header, kept = _CASES[case]
    quick_proxy.reset(
        Faults(
            rate=1.0,
            kinds=("cut-headers",),
            methods=(method,),
            paths=(path,),
            cut_in=(header, kept),
            limit=1,
        )
    )
    try:
        store = dataver.Registry(quick_s3_url).store  # NOTE: reads the marker
        if method == "HEAD":
            assert store.size(key) == len(FILES["large.bin"])
        elif path == "/objects/":
            assert store.read(key) == FILES["large.bin"]
        elif path == "list-type=2":
            assert [d.id for d in registry.list(name="cut")] == [ds.id]
        elif method == "PUT":
            again = registry.create("cut")
            (tmp_path / "one.txt").write_bytes(b"one")
            again.add_files(tmp_path / "one.txt")  # a swap with the token the create got
            assert again.list_files() == ["one.txt"]
    finally:
        injected = list(quick_proxy.injected)
        quick_proxy.reset()
    assert len(injected) == 1, injected  # the cut answer was met, and retried


@pytest.mark.timeout(120)
def test_a_truncated_pack_is_an_integrity_error_not_a_retried_short_read(
    quick_s3_url: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = {p: data for p, data in FILES.items() if p != "large.bin"}
    ds = dataver.Registry(quick_s3_url).create("short")
    ds.add_files(write_tree(tmp_path / "src", small))
    ds.finalize(auto_upload=True)
    bucket, prefix = quick_s3_url[len("s3://") :].split("/", 1)
    client = boto3.client("s3", endpoint_url=quick_proxy.url)
    packs = [
        o["Key"]
        for o in client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/packs/")["Contents"]
    ]
    assert len(packs) == 1
    whole = client.get_object(Bucket=bucket, Key=packs[0])["Body"].read()
    client.put_object(Bucket=bucket, Key=packs[0], Body=whole[: len(whole) // 2])
    last = max(small, key=lambda p: ds._manifest().get(p).offset)  # type: ignore[union-attr]
    quick_proxy.reset()
    with pytest.raises(IntegrityError, match="truncated"):
        dataver.Registry(quick_s3_url).get(ds.id).get_local_copy()
    assert quick_proxy.count("GET", "/packs/") == 1  # known at once: no retry can help
    _fresh_cache(monkeypatch, tmp_path, "open")
    with (  # a file wholly past the cut: the range starts beyond the object's end (416)
        pytest.raises(IntegrityError, match="truncated"),
        dataver.Registry(quick_s3_url).get(ds.id).open(last) as handle,
    ):
        handle.read()
