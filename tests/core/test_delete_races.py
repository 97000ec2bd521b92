"""Delete against everything else, in real processes, on a local folder and on moto S3.

Each trial forks one process per action; they meet at a barrier, then each sleeps a seeded
random few milliseconds so successive trials try different interleavings. The invariants
must hold in every trial:

* a Published version is never deleted without ``force``;
* a version with a live child is never deleted (a child's creation and its parent's
  deletion never both succeed);
* a deleted record never comes back, and a delete that returned success left no record;
* two records never answer to one version string.
"""

from __future__ import annotations

import multiprocessing
import random
import traceback
from typing import TYPE_CHECKING, Any

import pytest

import dataver
from dataver import State
from dataver.versions import repo

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TRIALS = 10
_FORK = multiprocessing.get_context("fork")

Action = tuple[str, tuple[Any, ...]]


@pytest.fixture(params=["local", "s3"])
def url(request: pytest.FixtureRequest, registry_path: Path) -> str:
    if request.param == "local":
        return str(registry_path)
    s3: str = request.getfixturevalue("s3_url")
    return s3


def _act(url: str, action: Action, barrier: Any, jitter: float, out: Any, index: int) -> None:
    import time

    name, args = action
    try:
        registry = dataver.Registry(url)
        barrier.wait(timeout=60)
        time.sleep(jitter)
        result = _ACTIONS[name](registry, *args)
        out.put((index, "ok", result))
    except dataver.DataverError as exc:
        out.put((index, type(exc).__name__, str(exc)))
    except BaseException:  # noqa: BLE001 - reported to the test, which fails on it
        out.put((index, "crash", traceback.format_exc()))


def _delete(registry: dataver.Registry, version_id: str, force: bool) -> None:
    registry.delete(version_id, force=force)


def _publish(registry: dataver.Registry, version_id: str) -> None:
    registry.get(version_id).publish()


def _finalize(registry: dataver.Registry, version_id: str) -> None:
    registry.get(version_id, states=None).finalize(auto_upload=True)


def _abort(registry: dataver.Registry, version_id: str) -> None:
    registry.get(version_id, states=None).abort("race")


def _fail(registry: dataver.Registry, version_id: str) -> None:
    registry.get(version_id, states=None).fail("race")


def _child(registry: dataver.Registry, version_id: str, folder: str) -> str:
    child = registry.create("race", parents=[version_id])
    child.add_files(folder, dataset_path="child")
    child.finalize(auto_upload=True)
    return child.id


def _recreate(registry: dataver.Registry, version: str, folder: str) -> str:
    ds = registry.create("race", version=version)
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    return ds.id


_ACTIONS: dict[str, Callable[..., Any]] = {
    "delete": _delete,
    "publish": _publish,
    "finalize": _finalize,
    "abort": _abort,
    "fail": _fail,
    "child": _child,
    "recreate": _recreate,
}


def race(
    url: str, actions: list[Action], seed: int, *, jitter: float = 0.02
) -> list[tuple[str, Any]]:
    """Run ``actions`` in one process each, released together; return (outcome, detail).

    Each process waits a seeded random time up to ``jitter`` seconds after the release.
    """
    rng = random.Random(seed)
    barrier = _FORK.Barrier(len(actions))
    out = _FORK.Queue()
    procs = [
        _FORK.Process(target=_act, args=(url, a, barrier, rng.uniform(0, jitter), out, i))
        for i, a in enumerate(actions)
    ]
    for proc in procs:
        proc.start()
    results: dict[int, tuple[str, Any]] = {}
    for _ in procs:
        index, outcome, detail = out.get(timeout=120)
        results[index] = (outcome, detail)
    for proc in procs:
        proc.join(timeout=30)
    crashes = [d for o, d in results.values() if o == "crash"]
    assert not crashes, crashes[0]
    return [results[i] for i in range(len(actions))]


def _version(registry: dataver.Registry, folder: Path, *, publish: bool = False) -> str:
    ds = registry.create("race")
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    if publish:
        ds.publish()
    return ds.id


def _exists(registry: dataver.Registry, version_id: str) -> bool:
    try:
        repo.load(registry.store, version_id)
    except dataver.VersionNotFoundError:
        return False
    return True


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    return src


def test_publish_against_delete_never_deletes_a_published_version(url: str, folder: Path) -> None:
    registry = dataver.Registry(url)
    outcomes = set()
    for trial in range(TRIALS):
        vid = _version(registry, folder)
        published, deleted = race(url, [("publish", (vid,)), ("delete", (vid, False))], trial)
        outcomes.add((published[0], deleted[0]))
        exists = _exists(registry, vid)
        if published[0] == "ok":
            assert exists, "a Published version was deleted without force"
            assert registry.get(vid).state is State.PUBLISHED
            assert deleted[0] in ("InvalidTransitionError", "ConflictError"), deleted
        if deleted[0] == "ok":
            assert not exists
            assert published[0] != "ok"
        assert published[0] == "ok" or deleted[0] == "ok", (published, deleted)
    assert outcomes  # NOTE: which side wins varies with the interleaving


def test_child_against_delete_never_both(url: str, folder: Path) -> None:
    registry = dataver.Registry(url)
    for trial in range(TRIALS):
        vid = _version(registry, folder)
        child, deleted = race(
            url, [("child", (vid, str(folder))), ("delete", (vid, True))], 100 + trial
        )
        assert not (child[0] == "ok" and deleted[0] == "ok"), (child, deleted)
        if child[0] == "ok":
            assert _exists(registry, vid), "the child's parent is gone"
            assert registry.get(child[1]).state is State.FINAL
        if deleted[0] == "ok":
            assert not _exists(registry, vid)
            assert not [d for d in registry.list(name="race") if vid in d.parents]
    report = registry.fsck()
    assert not [p for p in report.problems if p.kind == "bad-parent"], report.problems


def test_many_writers_on_one_version(url: str, folder: Path) -> None:
    """finalize x4, publish x3, delete(force) x3, abort x3, fail x2 on one version."""
    registry = dataver.Registry(url)
    for trial in range(TRIALS):
        ds = registry.create("race")
        ds.add_files(folder)
        vid = ds.id
        actions: list[Action] = [
            *[("finalize", (vid,))] * 4,
            *[("publish", (vid,))] * 3,
            *[("delete", (vid, True))] * 3,
            *[("abort", (vid,))] * 3,
            *[("fail", (vid,))] * 2,
        ]
        results = race(url, actions, 200 + trial)
        deletes = [r for a, r in zip(actions, results, strict=True) if a[0] == "delete"]
        succeeded = [r for r in deletes if r[0] == "ok"]
        assert len(succeeded) <= 1, deletes
        if succeeded:
            assert not _exists(registry, vid), "delete returned success, the record is there"
        else:
            assert _exists(registry, vid)
        ends = [
            a[0]
            for a, r in zip(actions, results, strict=True)
            if r[0] == "ok" and a[0] in ("abort", "fail", "finalize")
        ]
        assert len(ends) <= 1, ends  # NOTE: Uploading is left once


def test_deleted_record_never_comes_back_and_strings_stay_unique(url: str, folder: Path) -> None:
    registry = dataver.Registry(url)
    for trial in range(2 * TRIALS):  # NOTE: the window is narrow: more tries find it
        vid = _version(registry, folder)
        version = registry.get(vid).version
        deleted, published = race(
            url, [("delete", (vid, True)), ("publish", (vid,))], 300 + trial, jitter=0.002
        )
        # NOTE: with force, "published, then deleted" is a valid outcome: both succeed.
        assert deleted[0] == "ok" or published[0] == "ok", (deleted, published)
        assert _exists(registry, vid) != (deleted[0] == "ok"), "a deleted record came back"
        try:
            _recreate(registry, version, str(folder))
        except dataver.ConflictError:
            assert deleted[0] != "ok"  # NOTE: the string is still taken: by the survivor
        else:
            assert deleted[0] == "ok", "a version string was handed out twice"
        holders = [d for d in registry.list(name="race") if d.version == version]
        assert len(holders) == 1, [(d.id, d.state) for d in holders]
        assert registry.get(name="race", version=version, states=None).id == holders[0].id
    assert not [p for p in registry.fsck().problems if p.severity == "error"]
