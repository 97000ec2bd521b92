"""Operations run through :mod:`benchmarks.worker`, each in a fresh process."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from benchmarks.config import REPO_ROOT
from benchmarks.timing import run, settle

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


@dataclass(frozen=True)
class OpResult:
    """A worker's answer plus what the orchestrator measured around it."""

    seconds: float  # the operation alone, measured inside the worker
    wall: float  # the whole worker process: interpreter start, imports, operation
    peak_rss_kib: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Registry:
    """A registry (a folder or an ``s3://`` URL) and the cache folder its worker processes use."""

    path: Path | str
    cache: Path
    fsync: bool = True  # DATAVER_FSYNC for the worker
    verify: str = "marker"  # DATAVER_CACHE_VERIFY for the worker: marker, size or hash
    env: tuple[tuple[str, str], ...] = ()  # more variables for the worker, e.g. AWS_*

    def with_cache(self, cache: Path) -> Registry:
        return replace(self, cache=cache)

    def without_fsync(self) -> Registry:
        return replace(self, fsync=False)

    def with_verify(self, level: str) -> Registry:
        """The same registry and cache, with ``DATAVER_CACHE_VERIFY=level`` for its workers."""
        return replace(self, verify=level)

    def with_env(self, env: Mapping[str, str]) -> Registry:
        """The same registry and cache; its workers also get ``env`` (e.g. S3 credentials)."""
        return replace(self, env=tuple(sorted(env.items())))

    def build(
        self,
        folder: Path,
        name: str,
        parents: list[str] | None = None,
        *,
        check_diff: bool = False,
        sync: bool = False,
        count_io: bool = False,
    ) -> OpResult:
        """create + add_files + upload + finalize ``folder``; ``data["id"]`` is the version.

        ``check_diff``: afterwards (untimed) ``data["diff"]`` counts the paths added, removed,
        modified and renamed from the first parent. ``sync``: sync_folder instead of
        add_files (files gone from ``folder`` leave the version too). ``count_io``:
        ``data["io"]`` counts the calls and bytes of the store's reads and writes, by method
        (``benchmarks/worker.py``, count_io).
        """
        spec = {
            "name": name,
            "folder": str(folder),
            "parents": parents or [],
            "check_diff": check_diff,
            "sync": sync,
            "count_io": count_io,
        }
        return self._op("build", [folder], spec)

    def sync(self, parent: str, folder: Path, *, forget: bool = False) -> OpResult:
        """sync_folder of ``folder`` into a new child of ``parent``; with ``forget``, the
        folder's last sync is forgotten first (no fast path: every file is compared)."""
        spec = {"parent": parent, "folder": str(folder), "forget": forget}
        return self._op("sync", [folder], spec)

    def get(self, version_id: str, paths: list[str] | None = None) -> OpResult:
        """get_local_copy of ``version_id`` (only ``paths`` globs if given), via this cache."""
        return self._op("get", self._local(), {"id": version_id, "paths": paths})

    def open_one(self, version_id: str, path: str) -> OpResult:
        """``Dataset.open(path)`` of ``version_id`` and reading it to the end, via this cache."""
        return self._op("open", self._local(), {"id": version_id, "path": path})

    def open_range(self, version_id: str, path: str, offset: int, length: int) -> OpResult:
        """``Dataset.open(path)`` of ``version_id``, a seek to ``offset`` and a read of
        ``length`` bytes, via this cache; ``data["io"]`` counts the store's reads."""
        spec = {"id": version_id, "path": path, "offset": offset, "length": length}
        return self._op("open_range", self._local(), spec)

    def rebuild(self, version_id: str) -> OpResult:
        """Drop the cached tree of ``version_id`` (blobs stay), then time its get_local_copy."""
        return self._op("rebuild", self._local(), {"id": version_id})

    def stat_tree(self, folder: Path) -> OpResult:
        """Time a Python scandir + stat of every file under ``folder`` (a floor, not dataver)."""
        return self._op("stat", [folder], {"folder": str(folder)})

    def diff(self, version_id: str, other: str) -> OpResult:
        """``diff(other)`` of ``version_id``; ``data["diff"]`` counts the changed paths."""
        return self._op("diff", self._local(), {"id": version_id, "other": other})

    def list_paths(self, version_id: str, how: str) -> OpResult:
        """Every path of ``version_id``: ``how`` is "list_files" or "entries"."""
        return self._op("list", self._local(), {"id": version_id, "how": how})

    def fsck(self) -> OpResult:
        """``Registry.fsck()`` (check only); ``data["entries"]``: manifest entries checked."""
        return self._op("fsck", self._local(), {})

    def writers(self, name: str, parts: list[tuple[Path, str]], files: int) -> OpResult:
        """Create a version; one process per ``(folder, dataset_path)`` adds it as writer
        ``w<k>``, all at once; then finalize. ``data["finalize"]``: finalize's seconds."""
        writers = [
            {"writer": f"w{k}", "folder": str(folder), "dataset_path": dataset_path}
            for k, (folder, dataset_path) in enumerate(parts)
        ]
        spec = {"name": name, "writers": writers, "files": files}
        return self._op("writers", [folder for folder, _ in parts], spec)

    def synthetic_writers(self, name: str, writers: int, files: int, seed: Path) -> OpResult:
        """An Uploading version with ``writers`` committed contributions of ``files`` files
        in all, written directly (no files read; setup, not a measurement)."""
        spec = {"name": name, "writers": writers, "files": files, "seed_folder": str(seed)}
        return self._op("writers_synthetic", [], spec)

    def finalize(self, version_id: str, files: int) -> OpResult:
        """Time ``finalize`` of the Uploading version ``version_id`` in a fresh process."""
        return self._op("finalize", self._local(), {"id": version_id, "files": files})

    def _local(self) -> list[Path]:
        """The registry folder, to read into the page cache first (nothing for a URL)."""
        return [] if isinstance(self.path, str) else [self.path]

    def _op(self, op: str, warm: list[Path], spec: dict[str, Any]) -> OpResult:
        env = {
            "DATAVER_CACHE_DIR": str(self.cache),
            "DATAVER_FSYNC": "true" if self.fsync else "false",
            "DATAVER_CACHE_VERIFY": self.verify,
            **dict(self.env),
        }
        return run_worker({"op": op, "registry": str(self.path), **spec}, env, warm)


def run_worker(payload: dict[str, Any], env: Mapping[str, str], warm: list[Path]) -> OpResult:
    """Run one :mod:`benchmarks.worker` operation in a fresh process, with ``env`` added.

    ``warm``: inputs read into the page cache first (see :func:`benchmarks.timing.settle`).
    """
    settle(*warm)
    proc = run(
        [sys.executable, "-m", "benchmarks.worker", json.dumps(payload)],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
    )
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return OpResult(float(data["seconds"]), proc.wall, proc.peak_rss_kib, data)


@dataclass(frozen=True)
class SyntheticManifests:
    """Manifests of made-up entries in a local store folder, each operation in a new process."""

    store: Path

    def build(self, entries: int, changed: int = 0) -> OpResult:
        """Write a manifest of ``entries`` entries, ``changed`` of them with other hashes."""
        spec = {"store": str(self.store), "entries": entries, "changed": changed}
        return run_worker({"op": "manifest_build", **spec}, {}, [])

    def load(self, ref: str) -> OpResult:
        """Decode and iterate every entry of manifest ``ref`` (its files read into memory first)."""
        return run_worker(
            {"op": "manifest_load", "store": str(self.store), "ref": ref}, {}, [self.store]
        )

    def diff(self, old: str, new: str) -> OpResult:
        """``diff_manifests(old, new)``."""
        spec = {"store": str(self.store), "old": old, "new": new}
        return run_worker({"op": "manifest_diff", **spec}, {}, [self.store])
