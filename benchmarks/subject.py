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

    def build(self, folder: Path, name: str, parents: list[str] | None = None) -> OpResult:
        """create + add_files + upload + finalize ``folder``; ``data["id"]`` is the version."""
        spec = {"name": name, "folder": str(folder), "parents": parents or []}
        return self._op("build", [folder], spec)

    def sync(self, parent: str, folder: Path) -> OpResult:
        """sync_folder of ``folder`` into a new child of ``parent``."""
        return self._op("sync", [folder], {"parent": parent, "folder": str(folder)})

    def get(self, version_id: str) -> OpResult:
        """get_local_copy of ``version_id`` through this registry's cache."""
        return self._op("get", self._local(), {"id": version_id})

    def rebuild(self, version_id: str) -> OpResult:
        """Drop the cached tree of ``version_id`` (blobs stay), then time its get_local_copy."""
        return self._op("rebuild", self._local(), {"id": version_id})

    def stat_tree(self, folder: Path) -> OpResult:
        """Time a Python scandir + stat of every file under ``folder`` (a floor, not dataver)."""
        return self._op("stat", [folder], {"folder": str(folder)})

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
