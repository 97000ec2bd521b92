"""Peer tools and floors: DVC in its own virtual environment, ``cp -r``, ``b3sum``/``sha256sum``.

DVC is installed by this module into ``<work>/venv-dvc`` (``uv venv`` + ``uv pip install dvc``)
the first time it is needed. Every DVC measurement uses a fresh git + DVC repository with a local
folder as its default remote, and its own DVC site cache (hash state), so no run reuses another
run's state.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.timing import CommandError, ProcResult, run, settle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

DVC_SPEC = "dvc"


def find_uv() -> list[str] | None:
    """The command that runs uv: ``uv`` on PATH, else ``python3 -m uv``, else None."""
    if found := shutil.which("uv"):
        return [found]
    for python in ("python3", sys.executable):
        try:
            run([python, "-m", "uv", "--version"])
        except (CommandError, OSError):
            continue
        return [python, "-m", "uv"]
    return None


@dataclass(frozen=True)
class Dvc:
    """A DVC installation: its ``dvc`` executable and version."""

    exe: Path
    version: str

    def env(self, site_cache: Path) -> dict[str, str]:
        return {
            **os.environ,
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(site_cache),
        }

    def repo(self, root: Path, data: Path) -> DvcRepo:
        """A fresh git + DVC repository in ``<root>/repo`` holding a copy of ``data`` as ``data/``.

        Its default remote is the local folder ``<root>/remote`` (same disk). The copy is setup,
        not measured.
        """
        workspace, remote, site = root / "repo", root / "remote", root / "dvc-site-cache"
        workspace.mkdir(parents=True)
        remote.mkdir()
        repo = DvcRepo(self, workspace, remote, self.env(site))
        run(["git", "init", "-q"], cwd=workspace, env=repo.env)
        repo.dvc("init", "-q")
        repo.dvc("config", "core.analytics", "false")
        repo.dvc("config", "core.check_update", "false")
        repo.dvc("remote", "add", "-d", "local", str(remote))
        run(["cp", "-r", str(data), str(workspace / "data")])
        return repo


@dataclass(frozen=True)
class DvcRepo:
    """One benchmark repository."""

    tool: Dvc
    workspace: Path
    remote: Path
    env: dict[str, str]

    def dvc(self, *args: str) -> ProcResult:
        return run([str(self.tool.exe), *args], cwd=self.workspace, env=self.env)

    def add_push(self) -> tuple[ProcResult, ProcResult]:
        """``dvc add data`` then ``dvc push``, each timed as its own process."""
        settle(self.workspace / "data")
        added = self.dvc("add", "-q", "data")
        pushed = self.dvc("push", "-q")
        return added, pushed

    def overwrite(self, source: Path, relpaths: Iterable[str]) -> None:
        """Copy ``relpaths`` from ``source`` over the workspace's ``data/`` (in place)."""
        for rel in relpaths:
            shutil.copyfile(source / rel, self.workspace / "data" / rel)

    def pull_cold(self) -> ProcResult:
        """Move the DVC cache and the workspace copy aside, then time ``dvc pull``.

        Moved, not deleted: see :func:`benchmarks.scenarios.Context.empty_trash`.
        """
        aside = self.workspace.parent / "aside"
        aside.mkdir()
        (self.workspace / ".dvc" / "cache").rename(aside / "cache")
        (self.workspace / "data").rename(aside / "data")
        settle(self.remote)
        return self.dvc("pull", "-q")


def ensure_dvc(work: Path, log: Callable[[str], None]) -> Dvc | None:
    """Return DVC from ``<work>/venv-dvc``, creating the environment if missing.

    Returns None (after logging why) when uv is missing or the install fails.
    """
    venv = work / "venv-dvc"
    exe, stamp = venv / "bin" / "dvc", venv / ".installed"
    if not (stamp.is_file() and exe.is_file()):
        uv = find_uv()
        if uv is None:
            log("DVC skipped: neither `uv` nor `python3 -m uv` is available")
            return None
        try:
            _install(uv, venv, log)
        except (CommandError, OSError) as exc:
            log(f"DVC skipped: installing {DVC_SPEC} failed: {exc}")
            return None
        stamp.touch()
    version = run([str(exe), "--version"], env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    return Dvc(exe, version.stdout.strip())


def _install(uv: list[str], venv: Path, log: Callable[[str], None]) -> None:
    if not (venv / "bin" / "python").is_file():
        log(f"creating {venv}")
        run([*uv, "venv", "-q", "--python", sys.executable, str(venv)])
    log(f"installing {DVC_SPEC} into {venv}")
    run([*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), DVC_SPEC])


# ------------------------------------------------------------------------------------ floors


def copy_tree(source: Path, target: Path) -> ProcResult:
    """``cp -r source target`` (``target`` must not exist)."""
    settle(source)
    return run(["cp", "-r", str(source), str(target)])


def hash_tools() -> list[str]:
    """The file-hashing floors present on this machine, fastest first."""
    return [tool for tool in ("b3sum", "sha256sum") if shutil.which(tool)]


def hash_tree(tool: str, source: Path) -> ProcResult:
    """Hash every file under ``source`` with ``tool`` (via ``find | xargs``)."""
    script = f'find "$1" -type f -print0 | xargs -0 {tool} > /dev/null'
    settle(source)
    return run(["sh", "-c", script, "sh", str(source)])
