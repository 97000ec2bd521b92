"""Deduplicating backup tools as peers of issue 22: BorgBackup and restic, run as processes.

Both cut files into content-defined chunks (borg: buzhash, 512 KiB to 8 MiB, ~2 MiB on
average by default; restic: Rabin fingerprints, 512 KiB to 8 MiB, ~1 MiB) and store each
chunk once, so they are what dataver's chunked storage is compared with. Each measurement
uses a fresh repository (and fresh tool caches) inside its run folder. A repository's cost
is its growth on disk: the apparent size of every file under it after a snapshot minus
before. Neither is installed by the benchmark (``apt-get install borgbackup restic``); a
missing binary skips the tool with a note (see docs/benchmarks-chunks.md).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from benchmarks.chunkdata import tree_bytes
from benchmarks.timing import CommandError, ProcResult, run

if TYPE_CHECKING:
    from pathlib import Path

# NOTE: a fixed password for a throwaway repository in a run folder: restic has no
# unencrypted mode. It protects nothing and is not a credential.
_RESTIC_PASSWORD = "dataver-benchmark"  # noqa: S105


@dataclass(frozen=True)
class BackupTool:
    """One installed tool: ``borg`` or ``restic``, its executable and version."""

    name: str
    exe: str
    version: str

    def repo(self, root: Path, compression: str) -> BackupRepo:
        """A new repository in ``root`` whose snapshots use ``compression``.

        borg: ``none`` or its default ``lz4`` (``borg create --compression``); restic
        (repository format 2): ``off`` or its default ``auto`` (``--compression``).
        """
        repo = BackupRepo(self, root, compression)
        repo.init()
        return repo


def find_tools() -> tuple[dict[str, BackupTool], list[str]]:
    """The tools on PATH by name, and a note for each missing one."""
    found: dict[str, BackupTool] = {}
    missing: list[str] = []
    for name, package in (("borg", "borgbackup"), ("restic", "restic")):
        exe = shutil.which(name)
        if exe is None:
            missing.append(
                f"{name} not run: no `{name}` on PATH (`apt-get install {package}`, see "
                "docs/benchmarks-chunks.md)."
            )
            continue
        try:
            said = run([exe, "version" if name == "restic" else "--version"]).stdout.strip()
        except (CommandError, OSError) as exc:
            missing.append(f"{name} not run: `{exe}` does not start ({exc}).")
            continue
        found[name] = BackupTool(name, exe, said.splitlines()[0] if said else "?")
    return found, missing


@dataclass
class BackupRepo:
    """A repository of one tool, with its caches and configuration in ``root``."""

    tool: BackupTool
    root: Path
    compression: str
    snapshots: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.root / "repo"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        home = self.root / "home"
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "BORG_BASE_DIR": str(home),
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
            "RESTIC_PASSWORD": _RESTIC_PASSWORD,
            "RESTIC_CACHE_DIR": str(home / "restic-cache"),
        }
        if self.tool.name == "borg":
            self._run("init", "--encryption=none", str(self.path))
        else:
            self._run("init", "--repository-version", "2", "--repo", str(self.path))

    def backup(self, folder: Path) -> ProcResult:
        """One snapshot of ``folder`` (run from its parent, so paths are relative)."""
        self.snapshots += 1
        if self.tool.name == "borg":
            archive = f"{self.path}::s{self.snapshots:03d}"
            args = ["create", "--compression", self.compression, archive, folder.name]
        else:
            args = [
                "backup",
                "--quiet",
                "--compression",
                self.compression,
                "--host",
                "bench",
                "--repo",
                str(self.path),
                folder.name,
            ]
        return self._run(*args, cwd=folder.parent)

    def size(self) -> int:
        """The repository's apparent size on disk, every file counted."""
        return tree_bytes(self.path)

    def _run(self, *args: str, cwd: Path | None = None) -> ProcResult:
        return run([self.tool.exe, *args], cwd=cwd or self.root, env=self.env)
