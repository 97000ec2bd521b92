"""Issue 24's real-data scenarios: data nobody here generated, dataver beside DVC.

- ``realdata-stdlib``: the standard library of every Python interpreter found on the machine
  (the running one, pyenv's, the system's), sorted by version: version 1 is the first, each
  next version a child synced to the next standard library, a dataset evolving;
- ``realdata-site-packages``: a virtual environment's site-packages before and after each
  ``uv pip install`` of a pinned upgrade (made once under the work folder);
- ``realdata-binary``: a size-capped, deterministic selection of /usr/lib's binary files as a
  full version, then a child with 1% of the files edited in place (deterministic bytes).

Each tool keeps its own working folder, brought to the next state between steps by the same
untimed code (files whose bytes did not change are left alone, as in a dataset updated in
place): dataver builds a child with ``sync_folder`` from its folder, DVC runs ``dvc add`` +
``dvc push`` (to a local remote) in its workspace. The report gives every step's time, DVC ÷
dataver (whole processes both) and the load average when the step ran.
"""

from __future__ import annotations

import filecmp
import os
import random
import re
import shutil
import statistics
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.config import MIB, SEED
from benchmarks.peers import find_uv
from benchmarks.subject import Registry
from benchmarks.timing import CommandError, ScenarioResult, run, settle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from benchmarks.config import RealSizes
    from benchmarks.peers import DvcRepo
    from benchmarks.scenarios import Context
    from benchmarks.subject import OpResult

SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})
"""Folders left out of every tree: installed packages are not the standard library, and
bytecode caches are written by whoever ran the interpreter last."""

STDLIB_GLOBS = ("lib/python3.*",)
STDLIB_PREFIXES = (Path.home() / ".pyenv" / "versions", Path("/usr"), Path("/usr/local"))
BINARY_ROOT = Path("/usr/lib")
EDIT_BYTES = 4096  # bytes overwritten in the middle of each edited binary file


# ------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class State:
    """One state of a data set: the files ``rels`` (sorted) under ``root``."""

    label: str
    root: Path
    rels: tuple[str, ...]

    @property
    def size(self) -> int:
        return sum((self.root / rel).stat().st_size for rel in self.rels)


def walk_files(root: Path) -> Iterator[str]:
    """Regular files under ``root`` (not symlinks), relative paths in sorted walk order;
    :data:`SKIPPED_DIRS` and symlinked folders are not entered."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield os.path.relpath(path, root)


def stdlib_states(sizes: RealSizes) -> list[State]:
    """Every standard library found, sorted by (version, path), empty ones dropped."""
    found: dict[Path, tuple[int, int]] = {}
    prefixes = [*STDLIB_PREFIXES, Path(sysconfig.get_paths()["stdlib"]).parent.parent]
    for prefix in prefixes:
        for pattern in STDLIB_GLOBS:
            for path in [*prefix.glob(pattern), *prefix.glob(f"*/{pattern}")]:
                match = re.fullmatch(r"python3\.(\d+)", path.name)
                if match and path.is_dir():
                    found[path.resolve()] = (3, int(match.group(1)))
    states = []
    for path, version in sorted(found.items(), key=lambda item: (item[1], str(item[0]))):
        rels = tuple(_capped(walk_files(path), sizes.stdlib_files))
        if rels:
            states.append(State(f"{version[0]}.{version[1]} ({path})", path, rels))
    return states[: sizes.stdlib_states] if sizes.stdlib_states is not None else states


def _capped(items: Iterable[str], cap: int | None) -> list[str]:
    return [item for count, item in enumerate(items) if cap is None or count < cap]


def site_packages_states(
    work: Path, sizes: RealSizes, log: Callable[[str], None]
) -> list[State] | str:
    """The site-packages after each pinned install, snapshots made once under ``work``;
    or why they cannot be made (no uv, or the install failed)."""
    specs = sizes.site_packages
    stamp_text = f"{sys.version_info[:2]} {sizes.exclude_newer} {specs}"
    home = work / "site-packages"
    stamp = home / ".made"
    snapshots = [home / f"state-{k + 1}" for k in range(len(specs))]
    if not (stamp.is_file() and stamp.read_text() == stamp_text):
        made = _make_site_packages(home, snapshots, sizes, log)
        if made:
            return made
        stamp.write_text(stamp_text)
    return [
        State(" ".join(spec), snapshot, tuple(walk_files(snapshot)))
        for k, (spec, snapshot) in enumerate(zip(specs, snapshots, strict=True))
    ]


def _make_site_packages(
    home: Path, snapshots: list[Path], sizes: RealSizes, log: Callable[[str], None]
) -> str:
    """Install each pinned state in turn into one new venv, snapshot its site-packages after
    each; "" when done, else why not."""
    uv = find_uv()
    if uv is None:
        return "neither `uv` nor `python3 -m uv` is available"
    shutil.rmtree(home, ignore_errors=True)
    venv = home / "venv"
    run([*uv, "venv", "-q", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    found = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    site = Path(found.stdout.strip())
    for spec, snapshot in zip(sizes.site_packages, snapshots, strict=True):
        log(f"realdata: uv pip install {' '.join(spec)}")
        install = [*uv, "pip", "install", "-q", "--python", str(python), "--link-mode", "copy"]
        run([*install, "--exclude-newer", sizes.exclude_newer, *spec])
        copy_state(State("", site, tuple(walk_files(site))), snapshot)
    return ""


def binary_state(sizes: RealSizes) -> State:
    """Files of /usr/lib with a NUL byte in their first 8 KiB (binary, as git decides), in
    sorted walk order, each unless it would pass the byte cap or is above the file size cap,
    up to the file cap."""
    rels: list[str] = []
    total = 0
    for rel in walk_files(BINARY_ROOT):
        path = BINARY_ROOT / rel
        size = path.stat().st_size
        if len(rels) == sizes.binary_files:
            break
        small = sizes.binary_max_file is None or size <= sizes.binary_max_file
        if small and total + size <= sizes.binary_bytes and _is_binary(path):
            rels.append(rel)
            total += size
    return State(f"{BINARY_ROOT} subset", BINARY_ROOT, tuple(rels))


def _is_binary(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return b"\0" in handle.read(8192)
    except OSError:
        return False


def copy_state(state: State, target: Path) -> None:
    """A plain copy of ``state``'s files into the new folder ``target``."""
    for rel in state.rels:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state.root / rel, target / rel)


def mirror(state: State, target: Path) -> None:
    """Make ``target`` hold exactly ``state``'s files: delete the others (and folders left
    empty), write the missing ones and those whose bytes differ; others stay untouched."""
    wanted = set(state.rels)
    for folder, dirs, files in os.walk(target, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.relpath(path, target) not in wanted:
                os.unlink(path)
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and not os.listdir(path):
                os.rmdir(path)
    for rel in state.rels:
        source, copy = state.root / rel, target / rel
        if copy.is_file() and filecmp.cmp(source, copy, shallow=False):
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)


def edited_files(state: State, fraction: float) -> list[str]:
    """A seeded sample of ``fraction`` of ``state``'s non-empty files (at least one), sorted."""
    rng = random.Random(SEED)  # noqa: S311 - test data, not secrets
    candidates = [rel for rel in state.rels if (state.root / rel).stat().st_size > 0]
    return sorted(rng.sample(candidates, max(1, round(len(state.rels) * fraction))))


def edit_some(state: State, target: Path, fraction: float) -> None:
    """Overwrite up to :data:`EDIT_BYTES` in the middle of :func:`edited_files` in ``target``
    with seeded bytes, sizes kept: the same bytes every time."""
    rng = random.Random(SEED + 1)  # noqa: S311 - test data, not secrets
    for rel in edited_files(state, fraction):
        path = target / rel
        size = path.stat().st_size
        length = min(EDIT_BYTES, size)
        with path.open("r+b") as handle:
            handle.seek((size - length) // 2)
            handle.write(rng.randbytes(length))


# ------------------------------------------------------------------------------------ steps


@dataclass(frozen=True)
class Step:
    """One version of a sequence: ``apply`` brings a working folder to it (untimed).

    ``changed``: how many files dataver's sync_folder must find modified (and none added or
    removed) since the previous step (None: not checked, e.g. for a new standard library).
    """

    key: str
    label: str
    apply: Callable[[Path], None]
    files: int
    size: int
    changed: int | None = None


def synced_steps(states: list[State]) -> list[Step]:
    """One step per state: the working folder mirrored to it."""
    return [
        Step(f"v{k + 1}", state.label, partial(mirror, state), len(state.rels), state.size)
        for k, state in enumerate(states)
    ]


def binary_steps(state: State, fraction: float) -> list[Step]:
    """The full version of ``state``, then the same files with ``fraction`` of them edited."""
    count = len(edited_files(state, fraction))
    size = state.size

    return [
        Step("full", "full version", partial(mirror, state), len(state.rels), size),
        Step(
            "child",
            f"{fraction:.0%} child ({count:,} files edited in place)",
            partial(edit_some, state, fraction=fraction),
            len(state.rels),
            size,
            changed=count,
        ),
    ]


# -------------------------------------------------------------------------------- scenarios


@dataclass
class _Loads:
    """The 1-minute load average when each step ran, over the runs."""

    by_step: dict[str, list[float]] = field(default_factory=dict)

    def record(self, key: str) -> None:
        self.by_step.setdefault(key, []).append(os.getloadavg()[0])


def realdata_stdlib(ctx: Context) -> ScenarioResult:
    sizes = _real(ctx)
    states = stdlib_states(sizes)
    title = (
        f"Real data: the standard libraries of {len(states)} Python interpreters as a sequence "
        "of versions, each a child synced to the next"
    )
    return _sequence(ctx, "realdata-stdlib", title, synced_steps(states), _describe(states))


def realdata_site_packages(ctx: Context) -> ScenarioResult:
    sizes = _real(ctx)
    title = (
        f"Real data: a site-packages upgraded by `uv pip install`, {len(sizes.site_packages)} "
        "states, each a child synced to the next"
    )
    states = site_packages_states(ctx.work / "realdata", sizes, ctx.log)
    if isinstance(states, str):
        result = ScenarioResult("realdata-site-packages", title, reference=None)
        result.notes.append(f"Not run: {states}.")
        return result
    return _sequence(ctx, "realdata-site-packages", title, synced_steps(states), _describe(states))


def realdata_binary(ctx: Context) -> ScenarioResult:
    sizes = _real(ctx)
    state = binary_state(sizes)
    fraction = ctx.sizes.changed_fraction
    title = (
        f"Real data: {len(state.rels):,} binary files of {BINARY_ROOT} "
        f"({state.size / MIB:,.0f} MiB) as a full version, then a {fraction:.0%} child"
    )
    notes = [
        f"The files: {BINARY_ROOT}'s regular files in sorted walk order (symlinks and "
        "site-packages/dist-packages/__pycache__ skipped) with a NUL byte in their first 8 KiB, "
        f"each unless it would pass the cap ({len(state.rels):,} files, {state.size:,} bytes); "
        f"the child overwrites {EDIT_BYTES:,} bytes in the "
        f"middle (or the whole file, if smaller) of a seeded {fraction:.0%} sample of them "
        "with seeded bytes, in each tool's working folder, sizes kept.",
    ]
    return _sequence(ctx, "realdata-binary", title, binary_steps(state, fraction), notes)


def _real(ctx: Context) -> RealSizes:
    if ctx.sizes.real is None:
        raise RuntimeError(f"the {ctx.sizes.label} sizes have no real-data caps")
    return ctx.sizes.real


def _describe(states: list[State]) -> list[str]:
    lines = [
        f"v{k + 1}: {state.label}, {len(state.rels):,} files, {state.size:,} bytes"
        for k, state in enumerate(states)
    ]
    return [
        "The states (site-packages, dist-packages and __pycache__ skipped): " + "; ".join(lines)
    ]


def _sequence(
    ctx: Context, name: str, title: str, steps: list[Step], notes: list[str]
) -> ScenarioResult:
    """Every step in turn, from fresh state in every run; dataver and DVC alternate first."""
    result = ScenarioResult(name, title, reference=None)
    loads = _Loads()
    for index in range(ctx.runs):
        with ctx.fresh(name, index) as root:
            _run_steps(ctx, result, loads, root, steps, dvc_first=index % 2 == 1)
    result.extra.extend(_ratio_table(result, loads, steps))
    result.notes.extend(notes)
    result.notes.append(
        "dataver: a new process per version builds it from its working folder with "
        "sync_folder (parent = the previous version) + upload + finalize into a local "
        "registry; 'whole process' includes interpreter start and imports, as DVC's times do. "
        "DVC: dvc add + dvc push to a local remote folder, in a fresh git + DVC repository per "
        "run. Each tool's working folder is brought to the next state untimed, unchanged files "
        "untouched. DVC ÷ dataver: the medians of DVC's add + push and of dataver's whole "
        "process; 'total': the sum of the steps in each run, its median. Load: the 1-minute "
        "load average before the step (median over runs; the machine has other jobs)."
    )
    if ctx.dvc is None:
        result.notes.append("DVC not run (--no-peers or not installed).")
    return result


def _run_steps(
    ctx: Context,
    result: ScenarioResult,
    loads: _Loads,
    root: Path,
    steps: list[Step],
    *,
    dvc_first: bool,
) -> None:
    registry = Registry(root / "registry", root / "cache")
    folder = root / "dataver-data"
    folder.mkdir()
    repo = None
    if ctx.dvc is not None:
        (root / "empty").mkdir()
        repo = ctx.dvc.repo(root / "dvc", root / "empty")
    parent: str | None = None
    totals = {"dataver": 0.0, "dvc": 0.0}
    for step in steps:
        step.apply(folder)
        if repo is not None:
            step.apply(repo.workspace / "data")
        loads.record(step.key)
        tools = ["dvc", "dataver"] if dvc_first else ["dataver", "dvc"]
        for tool in tools:
            if tool == "dataver":
                op = registry.build(folder, result.name, [parent] if parent else None, sync=True)
                _check(op, step)
                parent = op.data["id"]
                _record_dataver(result, step, op)
                totals["dataver"] += op.wall
            elif repo is not None:
                totals["dvc"] += _record_dvc(result, step, repo)
    result.row("total:dataver_wall", "total: dataver, whole processes").add(totals["dataver"])
    if repo is not None:
        result.row("total:dvc", "total: DVC add + push").add(totals["dvc"])


def _check(op: OpResult, step: Step) -> None:
    """The version holds the step's files and bytes; a child changed what was edited."""
    got = (op.data["files"], op.data["logical_bytes"])
    if got != (step.files, step.size):
        raise RuntimeError(f"{step.label}: dataver stored {got}, not {(step.files, step.size)}")
    want = [0, 0, step.changed]  # sync_folder's (removed, added, modified)
    if step.changed is not None and op.data["changed"] != want:
        raise RuntimeError(f"{step.label}: sync_folder counted {op.data['changed']}, not {want}")


def _record_dataver(result: ScenarioResult, step: Step, op: OpResult) -> None:
    result.row(f"{step.key}:dataver", f"{step.key}: dataver, in process").add(
        op.seconds, op.peak_rss_kib
    )
    result.row(f"{step.key}:dataver_wall", f"{step.key}: dataver, whole process").add(
        op.wall, op.peak_rss_kib
    )


def _record_dvc(result: ScenarioResult, step: Step, repo: DvcRepo) -> float:
    """``dvc add`` + ``dvc push``; a failed push is retried once, both attempts timed."""
    settle(repo.workspace / "data")
    added = repo.dvc("add", "-q", "data")
    start = time.perf_counter()
    try:
        pushed = repo.dvc("push", "-q")
    except CommandError as exc:
        result.notes.append(f"{step.key}: dvc push failed once, retried (time of both): {exc}")
        pushed = repo.dvc("push", "-q")
    seconds = added.wall + (time.perf_counter() - start)
    result.row(f"{step.key}:dvc", f"{step.key}: DVC add + push").add(
        seconds, max(added.peak_rss_kib, pushed.peak_rss_kib)
    )
    return seconds


def _ratio_table(result: ScenarioResult, loads: _Loads, steps: list[Step]) -> list[str]:
    """Per step: its size, both tools' medians, DVC ÷ dataver and the load."""
    lines = [
        "| step | files | MiB | dataver, whole process s | dataver, in process s | "
        "DVC add + push s | DVC ÷ dataver | load (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines.extend(
        _ratio_line(
            result,
            f"{step.key}: {step.label}",
            f"{step.files:,}",
            f"{step.size / MIB:,.1f}",
            step.key,
            loads.by_step.get(step.key, []),
        )
        for step in steps
    )
    every = [load for values in loads.by_step.values() for load in values]
    lines.append(_ratio_line(result, "total", "", "", "total", every))
    return [*lines, ""]


def _ratio_line(
    result: ScenarioResult, label: str, files: str, mib: str, key: str, loads: list[float]
) -> str:
    rows = result.rows
    wall = rows.get(f"{key}:dataver_wall")
    inside = rows.get(f"{key}:dataver")
    dvc = rows.get(f"{key}:dvc")
    ratio = f"{dvc.median / wall.median:.2f}" if dvc and wall else "not run"
    cells = [
        label,
        files,
        mib,
        f"{wall.median:.3f}" if wall else "",
        f"{inside.median:.3f}" if inside else "",
        f"{dvc.median:.3f}" if dvc else "not run",
        ratio,
        f"{statistics.median(loads):.2f}" if loads else "",
    ]
    return "| " + " | ".join(cells) + " |"


REAL_SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {
    "realdata-stdlib": realdata_stdlib,
    "realdata-site-packages": realdata_site_packages,
    "realdata-binary": realdata_binary,
}

REAL_TREES: dict[str, tuple[str, ...]] = dict.fromkeys(REAL_SCENARIOS, ())
"""None of :mod:`benchmarks.datagen`'s trees: these scenarios find or make their own data."""
