"""Issue 24's memory scenario: peak RSS of reading a version of N tiny files, N up to 1M.

Each operation runs in its own fresh process (:mod:`benchmarks.worker`, or the CLI), and its
peak RSS is read with GNU ``time`` (:func:`benchmarks.timing.run`): a no-change
``sync_folder`` (every file compared with the manifest, then the folder's last sync
remembered: the fast path), ``diff`` against the parent of a child with 1% of the files changed,
``list_files`` and iterating ``entries()``, ``dataver list`` (the CLI), ``fsck`` and a cold
``get_local_copy`` into an empty cache. The goal: under 256 MiB at 1,000,000 files.

The trees (files of 64 B, 1,000 to a folder) are generated once under the data folder and
reused; so are the registries built from them (``memory/registry-<N>``, with the two
version ids in ``ids.json``), since building 1,000,000 files takes minutes and is not what
is measured. Delete ``memory/`` after a change of the storage format.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.config import SEED
from benchmarks.datagen import TreeSpec, ensure_changes, ensure_tree
from benchmarks.subject import OpResult, Registry
from benchmarks.timing import ScenarioResult, run, settle

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.scenarios import Context

FULL_COUNTS = (10_000, 100_000, 1_000_000)
QUICK_COUNTS = (10_000,)
FILE_SIZE = 64
PER_DIR = 1_000
GOAL_MIB = 256
"""Issue 24: every operation below stays under this at 1,000,000 files."""

OPERATIONS = (
    ("baseline", "open the version only (baseline)"),
    ("sync_compared", "sync_folder, no change, every file compared"),
    ("sync", "sync_folder, no change, the folder's last sync remembered"),
    ("diff", "diff of the 1% child against its parent"),
    ("list_files", "list_files()"),
    ("entries", "iterate entries()"),
    ("cli_list", "dataver list (CLI, whole process)"),
    ("cli_list_json", "dataver list --json (CLI, whole process)"),
    ("fsck", "fsck of the registry"),
    ("get", "cold get_local_copy"),
)


def memory(ctx: Context) -> ScenarioResult:
    """Peak RSS of each reading operation at every size, each in a fresh process."""
    counts = QUICK_COUNTS if ctx.sizes.label == "quick" else FULL_COUNTS
    title = (
        "Memory: peak RSS of reading a version of "
        + ", ".join(f"{n:,}" for n in counts)
        + f" files x {FILE_SIZE} B"
    )
    result = ScenarioResult("memory", title)
    peaks: dict[tuple[str, int], list[int]] = {}
    for count in counts:
        registry, ids, folder = _prepared(ctx, count)
        for index in range(ctx.runs):
            with ctx.fresh(f"memory-{count}", index) as root:
                for key, label in OPERATIONS:
                    op = _measure(key, registry, ids, folder, root)
                    result.row(f"{key}_{count}", f"{label}, {count:,} files").add(
                        op.seconds, op.peak_rss_kib
                    )
                    peaks.setdefault((key, count), []).append(op.peak_rss_kib)
    result.extra.extend(_table(peaks, counts))
    result.notes.extend(_notes(counts))
    return result


def _prepared(ctx: Context, count: int) -> tuple[Registry, dict[str, str], Path]:
    """The tree of ``count`` files, its 1% changes and the registry built from them."""
    base = ctx.data.root / "memory"
    spec = TreeSpec(count, FILE_SIZE, PER_DIR, SEED + 24, changed=max(1, count // 100))
    folder, changes = base / f"tree-{count}", base / f"changes-{count}"
    ensure_tree(folder, TreeSpec(count, FILE_SIZE, PER_DIR, SEED + 24), ctx.log)
    ensure_changes(changes, spec, ctx.log)
    where = base / f"registry-{count}"
    registry = Registry(where / "registry", where / "cache")
    stamp = where / "ids.json"
    if stamp.is_file():
        return registry, json.loads(stamp.read_text()), folder
    ctx.log(f"memory: building the registry of {count:,} files (once)")
    parent = registry.build(folder, "parent").data["id"]
    child = registry.build(changes, "child", [parent]).data["id"]
    ids = {"parent": parent, "child": child}
    stamp.write_text(json.dumps(ids))
    return registry, ids, folder


def _measure(
    key: str, registry: Registry, ids: dict[str, str], folder: Path, root: Path
) -> OpResult:
    parent, child = ids["parent"], ids["child"]
    steps: dict[str, Callable[[], OpResult]] = {
        "baseline": lambda: registry.list_paths(parent, "none"),
        "sync_compared": lambda: registry.sync(parent, folder, forget=True),
        "sync": lambda: registry.sync(parent, folder),
        "diff": lambda: registry.diff(child, parent),
        "list_files": lambda: registry.list_paths(parent, "list_files"),
        "entries": lambda: registry.list_paths(parent, "entries"),
        "cli_list": lambda: _cli_list(registry, parent),
        "cli_list_json": lambda: _cli_list(registry, parent, "--json"),
        "fsck": lambda: registry.fsck(),
        "get": lambda: registry.with_cache(root / "cache-get").get(parent),
    }
    return steps[key]()


def _cli_list(registry: Registry, version: str, *options: str) -> OpResult:
    """``dataver list --id <version>`` as a whole process (its output to a file)."""
    settle(Path(registry.path))
    cmd = [sys.executable, "-m", "dataver.cli", "-r", str(registry.path), "-q", *options, "list"]
    proc = run([*cmd, "--id", version])
    return OpResult(proc.wall, proc.wall, proc.peak_rss_kib, {})


def _table(peaks: dict[tuple[str, int], list[int]], counts: tuple[int, ...]) -> list[str]:
    """Rows "operation | files | peak RSS MiB | MiB per 1M files" (the largest run's peak;
    per 1M files: the growth over the baseline process, scaled to 1,000,000 files)."""
    lines = [
        "| operation | files | peak RSS MiB | MiB per 1M files |",
        "|---|---:|---:|---:|",
    ]
    for key, label in OPERATIONS:
        for count in counts:
            peak = max(peaks[(key, count)]) / 1024
            base = max(peaks[("baseline", count)]) / 1024
            slope = "" if key == "baseline" else f"{(peak - base) * 1_000_000 / count:,.0f}"
            lines.append(f"| {label} | {count:,} | {peak:,.1f} | {slope} |")
    return [*lines, ""]


def _notes(counts: tuple[int, ...]) -> list[str]:
    return [
        f"Trees of {', '.join(f'{n:,}' for n in counts)} files of {FILE_SIZE} B "
        f"({PER_DIR:,} to a folder), each built once into its own local registry (a parent; "
        "a child with 1% of the files rewritten, added over it); every row is a fresh "
        "process (`benchmarks/worker.py`; `dataver list` through the CLI), its peak RSS read "
        "by GNU time. 'MiB per 1M files': (peak - baseline) x 1,000,000 / files, where the "
        "baseline process imports dataver and opens the version only.",
        f"Goal (issue 24): under {GOAL_MIB} MiB at 1,000,000 files for sync (no change), "
        f"diff, list, fsck and a cold get.",
    ]


MEMORY_SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {"memory": memory}
MEMORY_TREES: dict[str, tuple[str, ...]] = {"memory": ()}
"""The scenario makes its own trees (see :func:`_prepared`)."""
