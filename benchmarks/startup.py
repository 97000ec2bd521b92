"""How long a process takes before it does any work (issue 24).

Every CLI call, Airflow task and Prefect task run starts a Python process: what ``import
dataver`` costs, each of them pays. Measured as whole processes (fork, exec, interpreter,
imports, the command's own work), the commands alternating run by run, beside the floor (a
bare interpreter) and DVC's ``dvc --version``.

Every tool runs with compiled bytecode, as an installed tool does (pip compiles it at install;
Python writes it on first import): ``PYTHONDONTWRITEBYTECODE`` is dropped, the caches go to a
scratch folder (``PYTHONPYCACHEPREFIX``) and each command runs once, untimed, first. Without
bytecode, compiling the sources doubles every figure (``dataver ls`` 0.95 s instead of 0.40 s).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.environment import bytecode_env
from benchmarks.timing import ScenarioResult, run

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.scenarios import Context

TARGET = 0.15
"""Seconds each of ``import dataver``, ``dataver --help`` and ``dataver ls`` may take."""
MIN_RUNS = 11
"""Start-up times are short and jittery: at least this many samples of each command."""


def startup(ctx: Context) -> ScenarioResult:
    """Whole-process start-up of ``import dataver``, ``dataver --help``, ``dataver ls``."""
    result = ScenarioResult(
        "startup", "Start-up: whole processes, from exec to exit", reference="python"
    )
    with ctx.fresh("startup", 0) as root:
        commands = _commands(ctx, _registry_with_a_version(root))
        env = _installed_env(root)
        for _label, argv in commands.values():
            run(argv, cwd=root, env=env)  # writes the bytecode caches
        loads = []
        for _ in range(max(ctx.runs, MIN_RUNS)):
            loads.append(os.getloadavg()[0])
            for key, (label, argv) in commands.items():
                done = run(argv, cwd=root, env=env)
                result.row(key, label).add(done.wall, done.peak_rss_kib)
    result.notes.append(
        f"Median of {max(ctx.runs, MIN_RUNS)} runs of each, alternating, with bytecode caches "
        f"written by an untimed first run; target: at most "
        f"{TARGET} s for `import dataver`, `dataver --help` and `dataver ls` (a local registry "
        f"of one version). Load average (1 min) during the runs: {min(loads):.2f}-"
        f"{max(loads):.2f} on {os.cpu_count()} CPUs."
    )
    result.notes.append(_verdict(result))
    return result


def _installed_env(root: Path) -> dict[str, str]:
    return {
        **bytecode_env(root / "pycache"),
        "DVC_NO_ANALYTICS": "1",
        "DATAVER_CACHE_DIR": str(root / "cache"),
    }


def _commands(ctx: Context, registry: Path) -> dict[str, tuple[str, list[str]]]:
    python = sys.executable
    dataver = str(Path(python).with_name("dataver"))
    commands = {
        "python": ("python -c pass (the floor)", [python, "-c", "pass"]),
        "import": ("python -c 'import dataver'", [python, "-c", "import dataver"]),
        "typer": (
            "python -c 'import typer._adapters' (typer's option parsing: the floor of a command)",
            [python, "-c", "import typer._adapters"],
        ),
        "help": ("dataver --help", [dataver, "--help"]),
        "ls": ("dataver ls (local registry)", [dataver, "--registry", str(registry), "ls"]),
    }
    if ctx.dvc is not None:
        commands["dvc"] = (f"dvc --version ({ctx.dvc.version})", [str(ctx.dvc.exe), "--version"])
    return commands


def _registry_with_a_version(root: Path) -> Path:
    """A local registry holding one Final version (made in a child: this process never
    imports the SDK it measures)."""
    registry = root / "registry"
    script = (
        "import dataver, pathlib, sys; d = pathlib.Path(sys.argv[2]); d.mkdir(); "
        "(d / 'a.txt').write_text('a'); ds = dataver.Registry(sys.argv[1]).create('one'); "
        "ds.add_files(d); ds.finalize(auto_upload=True)"
    )
    env = {**os.environ, "DATAVER_CACHE_DIR": str(root / "cache")}
    run([sys.executable, "-c", script, str(registry), str(root / "data")], env=env)
    return registry


def _verdict(result: ScenarioResult) -> str:
    over = [
        f"{row.label} {row.median:.3f} s"
        for key, row in result.rows.items()
        if key in ("import", "help", "ls") and row.median > TARGET
    ]
    if not over:
        return f"Every dataver command started within {TARGET} s."
    return f"Over the {TARGET} s target: " + "; ".join(over) + "."


STARTUP_SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {"startup": startup}

STARTUP_TREES: dict[str, tuple[str, ...]] = {"startup": ()}
"""The generated trees each scenario needs: none (it makes its own registry)."""
