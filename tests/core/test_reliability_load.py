"""Load: many writer processes auto-versioning one dataset while readers get versions, on S3.

The writers (``_worker.py load_writer``) each build versions of dataset ``load`` with
auto-versioning (every one races the others for the next patch version) and files derived
from (writer, index), recorded in the version's metadata. The readers (``load_reader``),
each with its own cache, keep getting random Final versions and compare every byte with what
that (writer, index) must hold. Everything runs against the moto server through the proxy,
which gives conditional PUTs the atomicity of real S3 (the quick proxy of ``_s3quick``).

The issue asks for 16 writers x 20 versions. On the shared 2-core test machine 18 Python
processes plus moto and the proxy make that run take minutes, so the suite keeps the 16
concurrent writers (the race is what matters) but builds 2 versions each; ``LOAD_SCALE=16x20``
in the environment runs the full size (figures in docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import dataver
from dataver import State

from ._s3quick import quick_proxy, quick_s3_url
from ._worker import load_files

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    Spawn = Callable[..., subprocess.Popen[str]]

__all__ = ["quick_proxy", "quick_s3_url"]  # fixtures used by this module

WRITERS, VERSIONS = (int(n) for n in os.environ.get("LOAD_SCALE", "16x2").split("x"))
READERS = 2


def _release(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "ready\n", line + (proc.stderr.read() if proc.stderr else "")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def _result(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_concurrent_writers_and_readers_on_s3_lose_nothing(
    quick_s3_url: str, spawn_worker: Spawn, tmp_path: Path
) -> None:
    s3_url = quick_s3_url
    stop = tmp_path / "stop"
    writers = [
        spawn_worker("load_writer", s3_url, str(tmp_path / "src"), str(w), str(VERSIONS))
        for w in range(WRITERS)
    ]
    readers = [
        spawn_worker("load_reader", s3_url, str(tmp_path / f"cache-{r}"), str(stop), str(r))
        for r in range(READERS)
    ]
    _release(writers + readers)
    # Meanwhile fsck runs again and again: a registry being written must never look damaged.
    registry = dataver.Registry(s3_url)
    checks = 0
    while any(proc.poll() is None for proc in writers):
        report = registry.fsck()
        assert report.errors == (), report.errors
        checks += 1
    built = [_result(proc)["built"] for proc in writers]
    stop.touch()
    reads = [_result(proc) for proc in readers]

    ids = [vid for per_writer in built for vid, _ in per_writer]
    strings = [version for per_writer in built for _, version in per_writer]
    total = WRITERS * VERSIONS
    assert len(set(ids)) == len(set(strings)) == total  # all versions distinct
    expected = {f"1.0.{n}" for n in range(total)}
    assert set(strings) == expected  # no version string skipped or taken twice

    assert checks > 0
    listed = registry.list(project="default", name="load", states=None)
    assert sorted(d.id for d in listed) == sorted(ids)  # no lost or extra records
    assert {d.state for d in listed} == {State.FINAL}
    assert all(r["wrong"] == [] for r in reads), reads
    assert sum(r["reads"] for r in reads) >= READERS  # the readers did read meanwhile
    report = registry.fsck(grace_seconds=0)
    assert report.ok, report.problems
    assert report.versions == total
    # Every version reads back byte-exact afterwards too (one ranged read per pack).
    for ds in listed:
        meta = ds.metadata
        files = load_files(int(str(meta["writer"])), int(str(meta["index"])))
        for path, data in files.items():
            with ds.open(path) as handle:
                assert handle.read() == data, (ds.id, path)
