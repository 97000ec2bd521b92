"""dataver operations run through :mod:`benchmarks.worker`, each in a fresh process."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from benchmarks.config import REPO_ROOT
from benchmarks.timing import run, settle

if TYPE_CHECKING:
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
    """A registry folder and the cache folder its worker processes use."""

    path: Path
    cache: Path
    fsync: bool = True  # DATAVER_FSYNC for the worker
    verify: str = "marker"  # DATAVER_CACHE_VERIFY for the worker: marker, size or hash

    def with_cache(self, cache: Path) -> Registry:
        return replace(self, cache=cache)

    def without_fsync(self) -> Registry:
        return replace(self, fsync=False)

    def with_verify(self, level: str) -> Registry:
        """The same registry and cache, with ``DATAVER_CACHE_VERIFY=level`` for its workers."""
        return replace(self, verify=level)

    def build(self, folder: Path, name: str, parents: list[str] | None = None) -> OpResult:
        """create + add_files + upload + finalize ``folder``; ``data["id"]`` is the version."""
        spec = {"name": name, "folder": str(folder), "parents": parents or []}
        return self._op("build", [folder], spec)

    def sync(self, parent: str, folder: Path) -> OpResult:
        """sync_folder of ``folder`` into a new child of ``parent``."""
        return self._op("sync", [folder], {"parent": parent, "folder": str(folder)})

    def get(self, version_id: str) -> OpResult:
        """get_local_copy of ``version_id`` through this registry's cache."""
        return self._op("get", [self.path], {"id": version_id})

    def rebuild(self, version_id: str) -> OpResult:
        """Drop the cached tree of ``version_id`` (blobs stay), then time its get_local_copy."""
        return self._op("rebuild", [self.path], {"id": version_id})

    def _op(self, op: str, warm: list[Path], spec: dict[str, Any]) -> OpResult:
        payload = json.dumps({"op": op, "registry": str(self.path), **spec})
        env = {
            **os.environ,
            "DATAVER_CACHE_DIR": str(self.cache),
            "DATAVER_FSYNC": "true" if self.fsync else "false",
            "DATAVER_CACHE_VERIFY": self.verify,
        }
        settle(*warm)
        proc = run([sys.executable, "-m", "benchmarks.worker", payload], cwd=REPO_ROOT, env=env)
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        return OpResult(float(data["seconds"]), proc.wall, proc.peak_rss_kib, data)
