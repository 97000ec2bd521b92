"""What a result depends on besides the code measured: machine, versions, settings, noise."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.config import QUICK, REPO_ROOT
from benchmarks.timing import GNU_TIME, CommandError, run

if TYPE_CHECKING:
    from collections.abc import Mapping

    from benchmarks.config import Sizes
    from benchmarks.peers import Dvc


def dataver_source() -> Path:
    """The folder of the ``dataver`` package the workers import (they inherit PYTHONPATH)."""
    import dataver

    return Path(dataver.__file__).resolve().parent


def source_fingerprint(package: Path) -> str:
    """A short digest of every ``.py`` file of ``package``: tells whether it changed."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class RunInfo:
    """How the benchmark was run."""

    sizes: Sizes
    runs: int
    pause: float
    dvc: Dvc | None
    peers: bool
    hashers: list[str]
    work: Path
    source: Path
    fingerprint: str  # of the dataver source when the run started
    commit: str  # of the repository when the run started
    notes: tuple[str, ...] = ()  # from --note


def bytecode_env(pycache: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) for processes that run with compiled
    bytecode, as an installed tool does (pip compiles it at install; Python writes it on first
    import): ``PYTHONDONTWRITEBYTECODE`` dropped, the caches in ``pycache``.

    NOTE: some machines set ``PYTHONDONTWRITEBYTECODE=1``; every whole-process figure taken
    that way includes compiling every module on every start (``dataver ls`` 0.95 s instead
    of 0.40 s, ``dvc --version`` 0.31 s instead of 0.18 s).
    """
    source = os.environ if base is None else base
    env = {key: value for key, value in source.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(pycache)}


def describe(info: RunInfo, elapsed: float) -> list[str]:
    """The report's header lines (markdown)."""
    title = f"# dataver benchmarks, {dt.date.today().isoformat()}"
    return [
        title + (" (quick sizes)" if info.sizes is QUICK else ""),
        "",
        *_code_lines(info),
        *(f"- note: {note}" for note in info.notes),
        f"- peers: {_peers(info)}",
        f"- machine: {platform.system()} {platform.release()}, {os.cpu_count()} CPUs, "
        f"{_ram_gib():.0f} GiB RAM; work dir on {_fstype(info.work)}",
        f"- data: {'; '.join(info.sizes.describe())}",
        f"- {info.runs} run(s) per measurement, each from fresh state (new registry, cache, DVC "
        "repository and copy targets); before each measurement: `sync`, then its inputs are "
        "read once so every tool starts with them in the page cache; old run folders are "
        f"deleted only between scenarios, then a {info.pause:.0f} s pause (ext4 inode reuse, "
        "see benchmarks/scenarios.py)",
        "- dataver runs with default settings (fsync of registry writes on, BLAKE3, "
        f"8 workers); times are seconds; peak RSS of the measured process ({_rss_method()}); "
        "every process runs with compiled bytecode, as installed tools do",
        f"- total benchmark time {elapsed / 60:.1f} min; load average at the end "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (1 / 5 / 15 min; anything above the benchmark's own load is other work)",
    ]


def _code_lines(info: RunInfo) -> list[str]:
    from importlib.metadata import version

    inside = info.source.is_relative_to(REPO_ROOT)
    where = (
        f"repository at {info.commit}" if inside else f"a copy; the repository was at {info.commit}"
    )
    lines = [
        f"- dataver {version('dataver')} from `{info.source}` ({where}; source fingerprint "
        f"{info.fingerprint}); Python {platform.python_version()}"
    ]
    now = source_fingerprint(info.source)
    if now != info.fingerprint:
        lines.append(
            f"- **WARNING: dataver's source changed during the run ({info.fingerprint} -> "
            f"{now}): later scenarios measured different code. Rerun on a fixed tree.**"
        )
    return lines


def _rss_method() -> str:
    if GNU_TIME:
        return "GNU time %M, with its waited-for children"
    return "wait4; GNU time missing, so values below this orchestrator's own RSS are not real"


def _peers(info: RunInfo) -> str:
    if info.dvc is not None:
        s3 = f"dvc-s3 {info.dvc.s3}" if info.dvc.s3_ok else "no S3 remotes"
        dvc = f"DVC {info.dvc.version} (own venv, local remote; {s3})"
    else:
        dvc = "DVC not run" + ("" if info.peers else " (--no-peers)")
    missing = [t for t in ("b3sum", "sha256sum") if t not in info.hashers]
    floors = ", ".join(["cp -r", *info.hashers])
    skipped = f" ({', '.join(missing)} not installed: skipped)" if missing else ""
    return f"{dvc}; floors: {floors}{skipped}"


def git_commit() -> str:
    """``commit <sha>`` of the repository, noting uncommitted changes under ``core/``."""
    try:
        head = run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT).stdout.strip()
        dirty = run(["git", "status", "--porcelain", "--", "core"], cwd=REPO_ROOT).stdout.strip()
    except (CommandError, OSError):
        return "an unknown commit"
    return f"commit {head}" + (" (core/ has uncommitted changes)" if dirty else "")


def _ram_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)


def _fstype(path: Path) -> str:
    try:
        found = run(["findmnt", "-n", "-o", "FSTYPE", "-T", str(path)]).stdout.strip()
    except (CommandError, OSError):
        return "an unknown filesystem"
    return found or "an unknown filesystem"
