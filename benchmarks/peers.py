"""Peer tools and floors: DVC in its own virtual environment, ``cp -r``, ``b3sum``/``sha256sum``.

DVC is installed by this module into ``<work>/venv-dvc`` (``uv venv`` + ``uv pip install dvc
dvc-s3``) the first time it is needed, or when the stamp in the venv names other packages (an
older install without dvc-s3 gets it added). Every DVC measurement uses a fresh git + DVC
repository with a local folder as its default remote (or an S3 remote, for the ``s3``
scenario), and its own DVC site cache (hash state), so no run reuses another run's state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.timing import CommandError, ProcResult, run, settle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

DVC_SPEC = "dvc"
DVC_S3_SPEC = "dvc-s3"  # DVC's S3 remotes (s3fs); optional: without it only S3 is skipped


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
    """A DVC installation: its ``dvc`` executable and version.

    ``s3``: the installed dvc-s3 version if ``s3_ok``, else why DVC cannot use S3 remotes here.
    """

    exe: Path
    version: str
    s3: str = ""
    s3_ok: bool = False

    def env(self, site_cache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(site_cache),
            **(extra or {}),
        }

    def repo(self, root: Path, data: Path) -> DvcRepo:
        """A fresh git + DVC repository in ``<root>/repo`` holding a copy of ``data`` as ``data/``.

        Its default remote is the local folder ``<root>/remote`` (same disk). The copy is setup,
        not measured.
        """
        remote = root / "remote"
        remote.mkdir(parents=True)
        repo = self._init(root, data, remote, {})
        repo.dvc("remote", "add", "-d", "local", str(remote))
        return repo

    def s3_repo(
        self, root: Path, data: Path, url: str, endpoint: str, env: Mapping[str, str]
    ) -> DvcRepo:
        """Like :meth:`repo`, but the default remote is ``url`` (``s3://bucket/prefix``).

        The endpoint is set with ``dvc remote modify <remote> endpointurl``; ``env`` (the
        ``AWS_*`` credentials) is given to every dvc command of the repository.
        """
        repo = self._init(root, data, None, env)
        repo.dvc("remote", "add", "-d", "s3", url)
        repo.dvc("remote", "modify", "s3", "endpointurl", endpoint)
        return repo

    def _init(self, root: Path, data: Path, remote: Path | None, env: Mapping[str, str]) -> DvcRepo:
        """``git init`` + ``dvc init`` in ``<root>/repo`` and a copy of ``data``; no remote yet."""
        workspace, site = root / "repo", root / "dvc-site-cache"
        workspace.mkdir(parents=True)
        repo = DvcRepo(self, workspace, remote, self.env(site, env))
        run(["git", "init", "-q"], cwd=workspace, env=repo.env)
        repo.dvc("init", "-q")
        repo.dvc("config", "core.analytics", "false")
        repo.dvc("config", "core.check_update", "false")
        run(["cp", "-r", str(data), str(workspace / "data")])
        return repo


@dataclass(frozen=True)
class DvcRepo:
    """One benchmark repository."""

    tool: Dvc
    workspace: Path
    remote: Path | None  # the local remote folder; None for an S3 remote
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
        settle(*([self.remote] if self.remote is not None else []))
        return self.dvc("pull", "-q")


def ensure_dvc(work: Path, log: Callable[[str], None]) -> Dvc | None:
    """Return DVC from ``<work>/venv-dvc``, creating or completing the environment if needed.

    Installs dvc and dvc-s3 together; if that fails, dvc alone (S3 remotes then report why
    they cannot be used, and the next run tries dvc-s3 again: the stamp names what was
    installed). Returns None (after logging why) when DVC is not installed and cannot be.
    """
    venv = work / "venv-dvc"
    exe, stamp = venv / "bin" / "dvc", venv / ".installed"
    wanted = " ".join((DVC_SPEC, DVC_S3_SPEC))
    if not (stamp.is_file() and exe.is_file() and stamp.read_text().strip() == wanted):
        installed = _install_dvc(venv, log)
        if installed is None or not exe.is_file():
            log("DVC skipped: not installed")
            return None
        stamp.write_text(" ".join(installed))
    version = run([str(exe), "--version"], env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    s3, s3_ok = _dvc_s3(venv)
    if not s3_ok:
        log(f"DVC S3 remotes unavailable: {s3}")
    return Dvc(exe, version.stdout.strip(), s3, s3_ok)


def _install_dvc(venv: Path, log: Callable[[str], None]) -> tuple[str, ...] | None:
    """Install dvc + dvc-s3 into ``venv``, else dvc alone; return what was installed.

    Logs every failure; None when nothing could be installed.
    """
    uv = find_uv()
    if uv is None:
        log("neither `uv` nor `python3 -m uv` is available to install DVC")
        return None
    for specs in ((DVC_SPEC, DVC_S3_SPEC), (DVC_SPEC,)):
        try:
            _install(uv, venv, specs, log)
        except (CommandError, OSError) as exc:
            log(f"installing {' '.join(specs)} failed: {exc}")
            continue
        return specs
    return None


def _install(uv: list[str], venv: Path, specs: Sequence[str], log: Callable[[str], None]) -> None:
    if not (venv / "bin" / "python").is_file():
        log(f"creating {venv}")
        run([*uv, "venv", "-q", "--python", sys.executable, str(venv)])
    log(f"installing {' '.join(specs)} into {venv}")
    run([*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *specs])


def _dvc_s3(venv: Path) -> tuple[str, bool]:
    """(dvc-s3's version, True) if DVC's S3 plugin imports in ``venv``, else (why not, False)."""
    script = "import importlib.metadata as m, dvc_s3; print(m.version('dvc-s3'))"
    try:
        found = run([str(venv / "bin" / "python"), "-c", script])
    except (CommandError, OSError) as exc:
        lines = str(exc).strip().splitlines()
        reason = lines[-1] if lines else type(exc).__name__
        return f"dvc-s3 does not import in {venv}: {reason}", False
    return found.stdout.strip(), True


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


# ----------------------------------------------------------------------------------- ClearML

CLEARML_SPEC = "clearml"

# Run by the ClearML environment's Python from a file (ClearML inspects the running script):
# every step of a dataset's life in offline mode, each step's outcome recorded (never raised),
# one JSON object written to a file (ClearML prints to stdout at exit).
_CLEARML_PROBE = r"""
import json, logging, os, sys, time
folder, remote, output = sys.argv[1], sys.argv[2], sys.argv[3]
warnings = []

class Keep(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())

steps = []
def step(name, action):
    start, kept = time.perf_counter(), len(warnings)
    try:
        value = action()
    except Exception as exc:
        steps.append([name, f"error: {type(exc).__name__}: {exc}", None])
        return None
    said = "; ".join(warnings[kept:])
    seconds = time.perf_counter() - start
    steps.append([name, "ok" + (f" (logged: {said})" if said else ""), seconds])
    return value

import clearml
from clearml import Dataset, Task
logging.getLogger("clearml").addHandler(Keep(level=logging.WARNING))
step("Task.set_offline(offline_mode=True)", lambda: Task.set_offline(offline_mode=True))
ds = step("Dataset.create", lambda: Dataset.create(dataset_name="bench", dataset_project="bench"))
if ds is not None:
    step(f"Dataset.add_files({folder})", lambda: ds.add_files(folder))
    step("Dataset.upload(output_url=<local folder>)", lambda: ds.upload(output_url=remote))
    stored = sum(len(files) for _, _, files in os.walk(remote))
    steps.append(["files under output_url after the upload", str(stored), None])
    step("Dataset.finalize", lambda: ds.finalize())
    step("Dataset.get(dataset_id=<the new id>)", lambda: Dataset.get(dataset_id=ds.id))
with open(output, "w") as handle:
    json.dump({"version": clearml.__version__, "steps": steps}, handle)
"""


@dataclass(frozen=True)
class ClearmlProbe:
    """What ClearML did without a server: its version, and (step, outcome, seconds) triples."""

    version: str
    steps: list[tuple[str, str, float | None]]
    cli: str  # ``clearml-data create`` without a server: its exit status and last line


def ensure_clearml(work: Path, log: Callable[[str], None]) -> Path | None:
    """The ClearML environment ``<work>/venv-clearml`` (created once), or None if it cannot be."""
    venv = work / "venv-clearml"
    python, stamp = venv / "bin" / "python", venv / ".installed"
    if stamp.is_file() and python.is_file() and stamp.read_text().strip() == CLEARML_SPEC:
        return venv
    uv = find_uv()
    if uv is None:
        log("ClearML skipped: neither `uv` nor `python3 -m uv` is available")
        return None
    try:
        _install(uv, venv, (CLEARML_SPEC,), log)
    except (CommandError, OSError) as exc:
        log(f"installing {CLEARML_SPEC} failed: {exc}")
        return None
    stamp.write_text(CLEARML_SPEC)
    return venv


def probe_clearml(venv: Path, folder: Path) -> ClearmlProbe:
    """Try ClearML's dataset workflow without a server, in offline mode, on ``folder``.

    Runs in a temporary folder outside this git repository, which is also ``HOME`` (no
    ``clearml.conf``, no credentials, no server). Inside the repository ClearML's git
    detection breaks ``add_files`` (``AttributeError: 'NoneType' object has no attribute
    'diff'``), which would say nothing about offline mode.
    """
    with tempfile.TemporaryDirectory(prefix="clearml-probe-") as name:
        scratch = Path(name)
        script, output = scratch / "probe.py", scratch / "probe.json"
        script.write_text(_CLEARML_PROBE)
        env = {**os.environ, "HOME": str(scratch)}
        settle(folder)
        python, remote = str(venv / "bin" / "python"), str(scratch / "remote")
        run([python, str(script), str(folder), remote, str(output)], cwd=scratch, env=env)
        found = json.loads(output.read_text())
        cli = _clearml_cli(venv, scratch, env)
    steps = [(str(name), str(outcome), sec) for name, outcome, sec in found["steps"]]
    return ClearmlProbe(str(found["version"]), steps, cli)


def _clearml_cli(venv: Path, root: Path, env: Mapping[str, str]) -> str:
    """``clearml-data create`` with no server configured: its exit status and last lines."""
    cli = [str(venv / "bin" / "clearml-data"), "create", "--project", "bench", "--name", "b"]
    done = subprocess.run(
        cli, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    text = f"{done.stdout}\n{done.stderr}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"exit status {done.returncode}: {' '.join(lines[-3:])}"
