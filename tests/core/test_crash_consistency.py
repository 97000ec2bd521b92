"""kill -9 a writer at seeded points of its work; the registry must stay consistent.

A worker process (``_worker.py pipeline``) creates a version, adds files, uploads, finalizes,
publishes, then builds, aborts and deletes a scratch child and runs ``gc``. It counts its own
writes to the registry (every ``write``/``create``/``replace``/``put_file``/``delete``) and
SIGKILLs itself just before the N-th: a kill at an exact, reproducible step, with no chance to
clean up. N is drawn with a fixed seed inside each phase, so every phase is hit.

After each kill, on a fresh registry (local folder and moto S3):

* ``fsck`` finds no damage — at most leftovers (an orphan claim, a journal, a temporary
  file) and the Uploading version, stale once its lease runs out, all repairable;
* every version visible as Final or Published is complete: ``verify()`` re-hashes every byte;
* re-running the interrupted step completes (the same version is resumed, or, after
  ``fsck --repair`` aborted it, a new one is built), and the result reads back byte-exact;
* after that, ``fsck --repair`` leaves a registry that ``fsck`` finds clean.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest

import dataver
from dataver import State

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    from .s3server import MotoServer

    Worker = Callable[..., subprocess.CompletedProcess[str]]

SEED = 20261121
PER_PHASE = {"add": 2, "upload": 2, "gc": 2}
"""Kill points per phase (1 where not listed): 10 per store."""
LEASE = 0.5
FILES = {f"small/{i:02d}.txt": f"file {i}\n".encode() * (i + 1) for i in range(12)}
FILES["big/blob.bin"] = random.Random(SEED).randbytes(20_000)  # a single object (>= 4 KiB)


@pytest.fixture(params=["local", "s3"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """``fresh_url(label)``: the URL of a new, empty registry on this run's store."""
    if request.param == "local":
        return lambda label: (tmp_path / f"registry-{label}").as_uri()
    # NOTE: straight to moto, not through the fault proxy: one writer at a time needs no
    # serialised conditional PUTs, and the proxy's per-request cost made this test 5x slower.
    server: MotoServer = request.getfixturevalue("moto_server")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "crash-key-id",
        "AWS_SECRET_ACCESS_KEY": "crash-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": server.url,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"crash-{uuid.uuid4().hex[:20]}"
    boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket=bucket)
    return lambda label: f"s3://{bucket}/registry-{label}"


@pytest.fixture
def sources(tmp_path: Path, write_tree: Callable[..., Path]) -> tuple[Path, Path]:
    """The folder the worker versions, and the scratch child's extra folder."""
    folder = write_tree(tmp_path / "src", FILES)
    extra = write_tree(tmp_path / "extra", {"scratch.bin": b"scratch only" * 50})
    return folder, extra


def _kill_points(phases: list[list[object]], total: int) -> list[tuple[str, int]]:
    """Choose, with a fixed seed, write numbers to die at inside each phase."""
    rng = random.Random(SEED)
    bounds = [int(str(start)) for _, start in phases] + [total]
    points = []
    for (name, _), start, end in zip(phases, bounds, bounds[1:], strict=False):
        steps = list(range(start + 1, end + 1))
        chosen = rng.sample(steps, min(PER_PHASE.get(str(name), 1), len(steps)))
        points.extend((str(name), step) for step in sorted(chosen))
    return points


def _check_after_kill(registry: dataver.Registry, label: str) -> dataver.FsckReport:
    report = registry.fsck(grace_seconds=0)
    assert report.errors == (), f"{label}: damage after a kill: {report.errors}"
    for ds in registry.list(states=["final", "published"]):
        assert ds.verify() == [], f"{label}: {ds.version} is visible but incomplete"
        assert ds.stats.files == (len(FILES) if ds.name == "crash" else len(FILES) + 1)
    if registry.list(states=["uploading"]):
        time.sleep(LEASE + 0.1)  # the dead writer stops renewing: its version turns stale
        report = registry.fsck(grace_seconds=0)
        assert "stale-version" in {p.kind for p in report.problems}, label
    assert all(p.repairable for p in report.problems), f"{label}: {report.problems}"
    return report


def _resume(registry: dataver.Registry, folder: Path, extra: Path) -> None:
    """Re-run the interrupted steps, from wherever the dead writer stopped."""
    crash = registry.list(project="default", name="crash", states=None)
    live = [d for d in crash if d.state in (State.UPLOADING, State.FINAL, State.PUBLISHED)]
    assert len(live) <= 1
    ds = registry.get(live[0].id, states=None) if live else registry.create("crash")
    if ds.state is State.UPLOADING:
        ds.add_files(folder)  # the same call again: unchanged files are no-ops
        ds.finalize(auto_upload=True)  # uploads only what the journal lacks
    if ds.state is State.FINAL:
        ds.publish()
    for scratch in registry.list(project="default", name="scratch", states=None):
        if scratch.state is State.UPLOADING:
            registry.get(scratch.id, states=None).abort("scrapped")
        registry.delete(scratch.id)
    registry.gc(dry_run=False, grace_seconds=0)
    del extra


def test_kill_9_at_seeded_points_leaves_a_consistent_registry(
    fresh_url: Callable[[str], str],
    sources: tuple[Path, Path],
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
    read_tree: Callable[[Path], dict[str, bytes]],
) -> None:
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", str(LEASE))
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "4096")
    folder, extra = sources
    dry = worker("pipeline", fresh_url("count"), str(folder), str(extra), "0")
    assert dry.returncode == 0, dry.stderr
    counted = json.loads(dry.stdout.splitlines()[-1])
    points = _kill_points(counted["phases"], counted["total"])
    assert {name for name, _ in points} == {name for name, _ in counted["phases"]}
    assert len(points) == 10

    for index, (phase, step) in enumerate(points):
        label = f"kill at write {step} ({phase})"
        url = fresh_url(f"kill-{step}")
        died = worker("pipeline", url, str(folder), str(extra), str(step))
        assert died.returncode == -signal.SIGKILL, f"{label}: {died.stderr}"
        registry = dataver.Registry(url)
        found = _check_after_kill(registry, label)
        if index % 2:
            # Half the time an operator runs fsck --repair first: it aborts the dead writer's
            # version, and the re-run builds a new one next to it.
            repaired = registry.fsck(repair=True, grace_seconds=0)
            assert repaired.ok, f"{label}: {repaired.problems}"
            assert len(repaired.repaired) == len(found.problems)
        _resume(registry, folder, extra)
        clean = registry.fsck(repair=True, grace_seconds=0)
        assert clean.ok, f"{label}: {clean.problems}"
        assert registry.fsck().ok
        published = registry.list(project="default", name="crash", states=["published"])
        assert len(published) == 1, label
        assert read_tree(published[0].get_local_copy()) == FILES, label
        assert registry.list(project="default", name="scratch", states=None) == []
        assert os.environ["DATAVER_LEASE_SECONDS"] == str(LEASE)
