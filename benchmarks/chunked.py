"""Issue 22's scenarios: content-defined chunks of large files, against DVC, borg and restic.

- ``chunks``: what a child version stores after an edit of one large file, per tool;
- ``daily``: the total stored by a sequence of daily versions of a growing dataset;
- ``chunk-ingest``: a full version of large files and its cold get, chunking on vs off;
- ``open-range``: the bytes ``Dataset.open`` + seek + read takes from the registry;
- ``chunk-sizes``: the chunk-size sweep the default is chosen from.

Every tool stores the same working folder, changed in place between snapshots (for DVC the
folder is its workspace's ``data/``, so nothing is copied for it). A tool's cost of a
snapshot is what its storage grew by: dataver's ``stats.stored_bytes`` of the new version
(and, as a check, its registry folder's growth on disk), the new files of DVC's cache, the
growth of a borg or restic repository folder, the size of a ``cp -r`` copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol

from benchmarks.backup import BackupRepo, BackupTool, find_tools
from benchmarks.chunkdata import (
    PARTS_FORMAT,
    Daily,
    ensure_file,
    tree_bytes,
    write_csv,
    write_inserted,
    write_overwritten,
    write_random,
)
from benchmarks.config import MIB, SEED, human
from benchmarks.peers import copy_tree
from benchmarks.subject import Registry
from benchmarks.timing import CommandError, ScenarioResult, settle

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from benchmarks.config import ChunkSizes
    from benchmarks.peers import DvcRepo
    from benchmarks.scenarios import Context
    from benchmarks.subject import OpResult

OFF = 1 << 62
"""``DATAVER_CHUNK_THRESHOLD`` that chunks nothing: whole-file objects, as before issue 22."""

_WRITE_CALLS = ("write", "create", "replace", "put_file")


@dataclass(frozen=True)
class Step:
    """One snapshot by one tool: its time, peak RSS, and the bytes its storage grew by."""

    seconds: float
    peak_rss_kib: int | None
    stored: int
    disk: int = 0  # dataver: its registry folder's growth (a check of ``stored``)
    manifests: int = 0  # dataver: bytes added under manifests/ (manifest shards, recipes)
    objects: int = 0  # dataver: files added to the registry folder
    puts: int = 0  # dataver: store write calls (write, create, replace, put_file)


class Tool(Protocol):
    """Something that stores snapshots of a folder."""

    key: str
    label: str

    def snapshot(self, folder: Path) -> Step: ...


# ----------------------------------------------------------------------------------- tools


@dataclass
class DataverTool:
    """Each snapshot is a new version (sync_folder), child of the previous one."""

    registry: Registry
    name: str
    key: str = "dataver"
    label: str = "dataver"
    last: str | None = None

    def snapshot(self, folder: Path) -> Step:
        before = _listing(self.registry.path)
        parents = [self.last] if self.last else None
        op = self.registry.build(folder, self.name, parents, sync=True, count_io=True)
        self.last = op.data["id"]
        return _dataver_step(op, before, _listing(self.registry.path))


def _dataver_step(op: OpResult, before: dict[str, int], after: dict[str, int]) -> Step:
    added = {key: size for key, size in after.items() if key not in before}
    io = op.data.get("io") or {}
    return Step(
        op.seconds,
        op.peak_rss_kib,
        int(op.data["stats_stored_bytes"]),
        disk=sum(after.values()) - sum(before.values()),
        manifests=sum(size for key, size in added.items() if key.startswith("manifests/")),
        objects=len(added),
        puts=sum(io.get(name, [0, 0])[0] for name in _WRITE_CALLS),
    )


def _listing(root: Path | str) -> dict[str, int]:
    """Every file of a local registry folder and its size (lock files and temporaries left
    out)."""
    found: dict[str, int] = {}
    top = str(root)
    for parent, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".locks"]
        for name in names:
            if name.endswith(".tmp"):
                continue
            path = os.path.join(parent, name)
            try:
                found[os.path.relpath(path, top)] = os.path.getsize(path)
            except FileNotFoundError:
                continue
    return found


@dataclass
class DvcTool:
    """``dvc add data`` + ``dvc push`` in the repository whose ``data/`` is the folder."""

    repo: DvcRepo
    key: str = "dvc"
    label: str = "DVC"

    def snapshot(self, folder: Path) -> Step:
        if folder != self.repo.workspace / "data":
            raise RuntimeError(f"DVC stores {self.repo.workspace / 'data'}, not {folder}")
        cache = self.repo.workspace / ".dvc" / "cache"
        before = _listing(cache)
        added, pushed = self.repo.add_push()
        after = _listing(cache)
        stored = sum(size for key, size in after.items() if key not in before)
        return Step(added.wall + pushed.wall, max(added.peak_rss_kib, pushed.peak_rss_kib), stored)


@dataclass
class BackupToolRun:
    """borg create / restic backup into one repository."""

    repo: BackupRepo
    key: str
    label: str

    def snapshot(self, folder: Path) -> Step:
        before = self.repo.size()
        settle(folder)
        done = self.repo.backup(folder)
        return Step(done.wall, done.peak_rss_kib, self.repo.size() - before)


@dataclass
class CopyTool:
    """``cp -r`` of the folder to a new folder per snapshot: no deduplication at all."""

    root: Path
    key: str = "cp"
    label: str = "cp -r (a full copy per version)"
    count: int = 0

    def snapshot(self, folder: Path) -> Step:
        self.root.mkdir(parents=True, exist_ok=True)
        self.count += 1
        target = self.root / f"v{self.count:03d}"
        done = copy_tree(folder, target)
        return Step(done.wall, done.peak_rss_kib, tree_bytes(target))


# ----------------------------------------------------------------------------- the set-up


@dataclass
class Workspace:
    """The folder every tool stores, and the tools (made by :func:`workspace`)."""

    folder: Path
    tools: list[Tool]
    notes: list[str] = field(default_factory=list)


def chunk_env(
    sizes: ChunkSizes, chunk_size: int | None = None, *, off: bool = False
) -> dict[str, str]:
    """``DATAVER_CHUNK_*`` for a dataver worker: the sizes' settings, another chunk size,
    or no chunking at all (``off``)."""
    env: dict[str, str] = {}
    if off:
        return {"DATAVER_CHUNK_THRESHOLD": str(OFF)}
    if sizes.threshold is not None:
        env["DATAVER_CHUNK_THRESHOLD"] = str(sizes.threshold)
    size = chunk_size or sizes.chunk_size
    if size is not None:
        env["DATAVER_CHUNK_SIZE"] = str(size)
    return env


def workspace(ctx: Context, root: Path, name: str, *, today: bool = True) -> Workspace:
    """An empty working folder and every tool that will store it, each with fresh storage.

    dataver (chunking as the sizes say), dataver with chunking off if ``today``, DVC (its
    workspace's ``data/`` is the folder), borg and restic without and with their default
    compression, and ``cp -r``. Peers are skipped with --no-peers or when not installed.
    """
    sizes = _chunk_sizes(ctx)
    tools: list[Tool] = [
        DataverTool(Registry(root / "registry", root / "cache").with_env(chunk_env(sizes)), name)
    ]
    if today:
        off = Registry(root / "registry-off", root / "cache-off").with_env(
            chunk_env(sizes, off=True)
        )
        tools.append(DataverTool(off, name, "dataver_off", "dataver, chunking off (whole files)"))
    notes: list[str] = []
    folder = root / "ws" / "data"
    if ctx.peers and ctx.dvc is not None:
        empty = root / "empty"
        empty.mkdir()
        repo = ctx.dvc.repo(root / "dvc", empty)
        folder = repo.workspace / "data"
        tools.append(DvcTool(repo))
    else:
        folder.mkdir(parents=True)
        notes.append("DVC not run (--no-peers or not installed).")
    if ctx.peers:
        found, missing = find_tools()
        tools.extend(_backup_tools(found, root))
        notes.extend(missing)
    else:
        notes.append("borg and restic not run (--no-peers).")
    tools.append(CopyTool(root / "copies"))
    return Workspace(folder, tools, notes)


# The (key, label, compression) of each backup tool's repositories: dedup alone first, then
# what each tool does by default (for honesty: compression is not what is compared).
_BACKUPS = {
    "borg": (
        ("borg_none", "borg, --compression none", "none"),
        ("borg_lz4", "borg, default compression (lz4)", "lz4"),
    ),
    "restic": (
        ("restic_off", "restic, --compression off", "off"),
        ("restic_auto", "restic, default compression (auto: zstd)", "auto"),
    ),
}


def _backup_tools(found: dict[str, BackupTool], root: Path) -> list[Tool]:
    tools: list[Tool] = []
    for name, tool in found.items():
        for key, label, compression in _BACKUPS[name]:
            tools.append(BackupToolRun(tool.repo(root / key, compression), key, label))
    return tools


def _chunk_sizes(ctx: Context) -> ChunkSizes:
    if ctx.sizes.chunks is None:
        raise RuntimeError(f"the {ctx.sizes.label} sizes define no chunk scenarios")
    return ctx.sizes.chunks


def _peer_notes(ws: Workspace, ctx: Context) -> list[str]:
    """The versions of the peers that ran, and why others did not."""
    found, _ = find_tools() if ctx.peers else ({}, [])
    versions = [f"{tool.name}: {tool.version}" for tool in found.values()]
    if ctx.peers and ctx.dvc is not None:
        versions.insert(0, f"DVC {ctx.dvc.version} (local remote, default cache type)")
    said = [f"Peers: {'; '.join(versions)}."] if versions else []
    return said + ws.notes


# ------------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class Case:
    """One edit of one large file: (a), (b) or (c)."""

    key: str
    what: str
    name: str  # the file's name in the working folder
    parent: Path
    child: Path


def ensure_cases(ctx: Context) -> list[Case]:
    """The parent and child files of cases (a) to (c), generated once."""
    s, root = _chunk_sizes(ctx), ctx.data.root / "cdc"
    log = ctx.log
    a = ensure_file(
        root / "a-parent.bin",
        {"random": s.random_size, "seed": SEED + 31},
        lambda p: write_random(p, s.random_size, SEED + 31),
        log,
    )
    a_child = ensure_file(
        root / "a-child.bin",
        {"of": a.name, "size": s.random_size, "overwrite": s.edit, "seed": SEED + 32},
        lambda p: write_overwritten(p, a, s.random_size // 2, s.edit, SEED + 32),
        log,
    )
    b = ensure_file(
        root / "b-parent.csv",
        {"csv": s.csv_size, "seed": SEED + 33},
        lambda p: _ignore(write_csv(p, s.csv_size, SEED + 33)),
        log,
    )
    b_child = ensure_file(
        root / "b-child.csv",
        {"of": b.name, "size": s.csv_size, "append": s.append, "seed": SEED + 33},
        lambda p: _appended(p, b, s.append, SEED + 33),
        log,
    )
    c = ensure_file(
        root / "c-parent.bin",
        {"random": s.insert_size, "seed": SEED + 34},
        lambda p: write_random(p, s.insert_size, SEED + 34),
        log,
    )
    c_child = ensure_file(
        root / "c-child.bin",
        {"of": c.name, "size": s.insert_size, "insert": s.edit, "seed": SEED + 35},
        lambda p: write_inserted(p, c, s.edit, SEED + 35),
        log,
    )
    edit = human(s.edit)
    return [
        Case(
            "a",
            f"{human(s.random_size)} random, {edit} overwritten in the middle",
            "big.bin",
            a,
            a_child,
        ),
        Case(
            "b",
            f"{human(s.csv_size)} CSV, {human(s.append)} of rows appended",
            "table.csv",
            b,
            b_child,
        ),
        Case(
            "c",
            f"{human(s.insert_size)} random, {edit} inserted at the start",
            "big.bin",
            c,
            c_child,
        ),
    ]


def _ignore(_: object) -> None:
    return None


def _appended(path: Path, parent: Path, size: int, seed: int) -> None:
    from benchmarks.chunkdata import append_rows

    shutil.copyfile(parent, path)
    append_rows(path, size, seed)


def _place(source: Path, target: Path) -> None:
    """Make ``target`` a new file with ``source``'s bytes (a new inode, as an editor's save)."""
    target.unlink(missing_ok=True)
    shutil.copyfile(source, target)


# -------------------------------------------------------------------------------- chunks


def chunks(ctx: Context) -> ScenarioResult:
    """(a)-(c): every tool stores the parent, then the edited file; the child is measured."""
    s = _chunk_sizes(ctx)
    title = (
        "Chunks: what a child version stores after an edit of one large file, "
        "dataver against DVC, borg, restic and cp"
    )
    result = ScenarioResult("chunks", title, reference=None)
    cases = ensure_cases(ctx)
    notes: list[str] = []
    for case in cases:
        for index in range(ctx.runs):
            with ctx.fresh(f"chunks-{case.key}", index) as root:
                ws = workspace(ctx, root, f"chunks-{case.key}")
                notes = _peer_notes(ws, ctx)
                _place(case.parent, ws.folder / case.name)
                parents = {tool.key: tool.snapshot(ws.folder) for tool in ws.tools}
                _place(case.child, ws.folder / case.name)
                for tool in ws.tools:
                    _record_child(result, case, tool, parents[tool.key], tool.snapshot(ws.folder))
            shutil.rmtree(root)  # NOTE: a few large files: no inode storm (see scenarios.py)
    result.notes.extend(_chunks_notes(s, cases))
    result.notes.extend(notes)
    return result


def _record_child(
    result: ScenarioResult, case: Case, tool: Tool, parent: Step, child: Step
) -> None:
    """Rows of one tool's child in one case: its stored MiB (and time), checks for dataver."""
    k, label = f"{case.key}_{tool.key}", f"({case.key}) {tool.label}"
    versus = None if tool.key == "dataver" else f"{case.key}_dataver"
    result.amount(k, f"{label}: child stored", "MiB", versus).add(child.stored / MIB)
    result.row(f"{k}_time", f"({case.key}) {tool.label}: child build").add(
        child.seconds, child.peak_rss_kib
    )
    if tool.key.startswith("dataver"):
        result.amount(f"{k}_disk", "  its registry folder's growth", "MiB").add(child.disk / MIB)
        result.amount(f"{k}_parent", "  the parent stored (for scale)", "MiB").add(
            parent.stored / MIB
        )


def _chunks_notes(s: ChunkSizes, cases: list[Case]) -> list[str]:
    chunking = (
        "dataver's defaults (threshold 8 MiB, average chunk 1 MiB: min 256 KiB, max 4 MiB)"
        if s.threshold is None
        else f"DATAVER_CHUNK_THRESHOLD={s.threshold}, DATAVER_CHUNK_SIZE={s.chunk_size}"
    )
    return [
        "Cases: " + "; ".join(f"({c.key}) {c.what}" for c in cases) + ". Seeded data "
        "(benchmarks/chunkdata.py): random bytes, or CSV rows of orders (id, ISO timestamp, "
        "user, amount, ratio, quantity, status, city).",
        f"Each run: a fresh folder; the parent file is copied in and every tool stores it; "
        f"then the file is replaced by the edited one (a new file, as an editor saves) and "
        f"every tool stores the folder again; only the child is shown. dataver: {chunking}; "
        "a new version (sync_folder) whose parent is the first, stored = the child's "
        "`stats.stored_bytes`, checked against its registry folder's growth on disk (which "
        "also holds the version record and manifest). 'chunking off': the same with "
        f"DATAVER_CHUNK_THRESHOLD={OFF} (whole-file objects, dataver before issue 22).",
        "DVC: `dvc add data` + `dvc push` to a local remote; stored = the new files in "
        ".dvc/cache. borg (`borg init -e none`, `borg create --compression none|lz4`) and "
        "restic (`restic init --repository-version 2`, `restic backup --compression "
        "off|auto`; encrypted, restic has no other mode): stored = the repository folder's "
        "growth. Rows with each tool's default compression are there for honesty: random "
        "bytes do not compress, CSV does, and dataver does not compress chunks. cp: a full "
        "copy of the folder per version. Times: the child's build, whole process for the "
        "peers, create + sync_folder + upload + finalize for dataver.",
        "x vs: the tool's stored bytes over dataver's in the same case.",
    ]


# --------------------------------------------------------------------------------- daily


def daily(ctx: Context) -> ScenarioResult:
    """Daily versions of a growing dataset: the total each tool stored after the last one."""
    s = _chunk_sizes(ctx)
    title = (
        f"Daily: {s.daily_days} versions of a growing dataset ({human(s.daily_table)} CSV "
        f"table, +2-5% rows a day; {s.daily_parts + s.daily_small_parts} part files, one "
        "more a day), total stored per tool"
    )
    result = ScenarioResult("daily", title, reference="dataver_time")
    days = _daily(s)
    notes: list[str] = []
    logical = 0
    for index in range(ctx.runs):
        with ctx.fresh("daily", index) as root:
            ws = workspace(ctx, root, "daily")
            notes = _peer_notes(ws, ctx)
            totals = {tool.key: [0.0, 0.0, 0.0] for tool in ws.tools}
            for day in range(s.daily_days):
                days.apply(ws.folder, day)
                for tool in ws.tools:
                    step = tool.snapshot(ws.folder)
                    total = totals[tool.key]
                    total[0] += step.stored
                    total[1] += step.seconds
                    total[2] = max(total[2], step.peak_rss_kib or 0)
            logical = tree_bytes(ws.folder)
            _record_totals(result, ws.tools, totals)
        shutil.rmtree(root)
    result.notes.extend(_daily_notes(s, logical))
    result.notes.extend(notes)
    return result


def _daily(s: ChunkSizes) -> Daily:
    return Daily(s.daily_table, s.daily_parts, s.daily_part, s.daily_small_parts, s.daily_small)


def _record_totals(
    result: ScenarioResult, tools: list[Tool], totals: dict[str, list[float]]
) -> None:
    for tool in tools:
        stored, seconds, rss = totals[tool.key]
        versus = None if tool.key == "dataver" else "dataver"
        result.amount(tool.key, f"{tool.label}: total stored", "MiB", versus).add(stored / MIB)
        result.row(f"{tool.key}_time", f"{tool.label}: all versions' builds").add(
            seconds, int(rss) or None
        )
    dedup = [totals[k][0] for k in ("borg_none", "restic_off") if k in totals]
    if dedup:
        label = "best of borg and restic without compression: total stored"
        result.amount("dedup_best", label, "MiB", "dataver").add(min(dedup) / MIB)


def _daily_notes(s: ChunkSizes, logical: int) -> list[str]:
    return [
        f"One working folder changed in place each day (benchmarks/chunkdata.py, Daily): "
        f"day 0 writes table.csv ({human(s.daily_table)} of order rows) and parts/ "
        f"({s.daily_parts} parts of ~{human(s.daily_part)} and {s.daily_small_parts} small "
        f"ones of ~{human(s.daily_small)}: {PARTS_FORMAT}); each later day appends 2-5% "
        "more rows (seeded), gives 3 rows in the table's middle half new values (the bytes "
        "after them move), adds one big part and rewrites one small part (a new file). "
        f"After the last day the folder holds {logical / MIB:,.0f} MiB.",
        "After each day every tool stores the folder: a new dataver version (sync_folder, "
        "child of the day before), `dvc add` + `dvc push`, a borg archive, a restic "
        "snapshot, a cp -r copy. Total stored: the sum over all versions, measured as in the "
        "chunks table; times: the sum of all builds. x ref / x vs: against dataver.",
    ]


# -------------------------------------------------------------------------- chunk-ingest


def chunk_ingest(ctx: Context) -> ScenarioResult:
    """A full version of the large files, chunked vs whole-file objects, and its cold get."""
    s, c, folder = ctx.sizes, _chunk_sizes(ctx), ctx.data.large
    title = (
        f"Chunk ingest: a new version of {s.large_count} x {human(s.large_size)} random "
        "files and its cold get_local_copy, chunking on vs off"
    )
    result = ScenarioResult("chunk-ingest", title, reference="ingest_off")
    modes = {"on": chunk_env(c), "off": chunk_env(c, off=True)}
    for index in range(ctx.runs):
        with ctx.fresh("chunk-ingest", index) as root:
            order = ("on", "off") if index % 2 == 0 else ("off", "on")  # NOTE: alternate
            for mode in order:
                _ingest_once(result, root, folder, mode, modes[mode])
            copied = copy_tree(folder, root / "cp-copy")
            result.row("cp", "floor: cp -r (same disk)").add(copied.wall, copied.peak_rss_kib)
        shutil.rmtree(root)
    result.notes.append(
        "Each run: a fresh registry per mode; the version is built by a new process "
        "(create + add_files + upload + finalize, in-process time), then fetched by another "
        "new process into an empty cache folder (cold get_local_copy; the tree is checked "
        "file by file against the source). 'on': "
        + (
            "dataver's defaults"
            if c.threshold is None
            else f"DATAVER_CHUNK_THRESHOLD={c.threshold}, DATAVER_CHUNK_SIZE={c.chunk_size}"
        )
        + f"; 'off': DATAVER_CHUNK_THRESHOLD={OFF} (one object per file). The two modes "
        "alternate which goes first from run to run. cp -r: the floor of both."
    )
    return result


def _ingest_once(
    result: ScenarioResult, root: Path, folder: Path, mode: str, env: dict[str, str]
) -> None:
    registry = Registry(root / f"registry-{mode}", root / f"cache-{mode}").with_env(env)
    before = _listing(registry.path)
    op = registry.build(folder, f"ingest-{mode}", count_io=True)
    step = _dataver_step(op, before, _listing(registry.path))
    what = "chunked" if mode == "on" else "whole-file objects"
    result.row(f"ingest_{mode}", f"dataver: ingest, {what}").add(op.seconds, op.peak_rss_kib)
    cached = registry.with_cache(root / f"cache-get-{mode}")
    got = _attempt(result, f"cold get_local_copy, {what}", partial(cached.get, op.data["id"]))
    if got is not None:
        _same_tree(cached.cache / "versions" / op.data["id"], folder)
        result.row(f"get_{mode}", f"dataver: cold get_local_copy, {what}").add(
            got.seconds, got.peak_rss_kib
        )
    result.amount(f"stored_{mode}", f"dataver: stored, {what}", "MiB").add(step.stored / MIB)
    result.amount(f"objects_{mode}", f"dataver: files added to the registry, {what}", "files").add(
        step.objects
    )
    result.amount(f"puts_{mode}", f"dataver: store writes (PUTs), {what}", "calls").add(step.puts)


def _attempt(result: ScenarioResult, what: str, measure: Callable[[], OpResult]) -> OpResult | None:
    """``measure()``, or None with a note when the dataver worker failed: a read the core
    cannot do yet is reported as such (its rows stay empty, its targets "not measured")
    instead of losing the scenario's other rows."""
    try:
        return measure()
    except CommandError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        note = f"FAILED: {what}: {lines[-1] if lines else exc}"
        if note not in result.notes:
            result.notes.append(note)
        return None


def _same_tree(tree: Path, source: Path) -> None:
    """Every file of ``source`` is in ``tree`` with the same bytes (compared by SHA-256)."""
    for parent, _, names in os.walk(source):
        for name in names:
            path = os.path.join(parent, name)
            copy = tree / os.path.relpath(path, source)
            if _sha256(copy) != _sha256(path):
                raise RuntimeError(f"get_local_copy gave other bytes for {copy}")


def _sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- open-range


def open_range(ctx: Context) -> ScenarioResult:
    """``Dataset.open`` of a large chunked file, a seek and a short read: bytes read."""
    c = _chunk_sizes(ctx)
    title = (
        f"Open-range: Dataset.open of a {human(c.open_size)} chunked file, seek to "
        f"{human(c.open_offset)}, read {human(c.open_length)}: what is read from the registry"
    )
    result = ScenarioResult("open-range", title, reference=None)
    source = ensure_file(
        ctx.data.root / "cdc" / "open.bin",
        {"random": c.open_size, "seed": SEED + 36},
        lambda p: write_random(p, c.open_size, SEED + 36),
        ctx.log,
    )
    want = _slice_sha256(source, c.open_offset, c.open_length)
    breakdown: dict[str, str] = {}
    for index in range(ctx.runs):
        with ctx.fresh("open-range", index) as root:
            tree = root / "tree"
            tree.mkdir()
            os.link(source, tree / source.name)
            for mode, env in (("", chunk_env(c)), ("_off", chunk_env(c, off=True))):
                registry = Registry(root / f"registry{mode}", root / f"cache{mode}").with_env(env)
                version = registry.build(tree, f"open{mode}").data["id"]
                cold = registry.with_cache(root / f"cache-open{mode}")
                read = _attempt(
                    result,
                    f"open + seek + read{mode}",
                    partial(cold.open_range, version, source.name, c.open_offset, c.open_length),
                )
                if read is None:
                    continue
                if read.data["sha256"] != want:
                    raise RuntimeError("Dataset.open + seek + read returned other bytes")
                breakdown[mode] = _record_read(result, read, mode)
        shutil.rmtree(root)
    result.notes.extend(_open_notes(c, "; ".join(breakdown.values())))
    return result


def _record_read(result: ScenarioResult, read: OpResult, mode: str) -> str:
    """Rows of one open + seek + read; returns the store calls it made, as text."""
    io, before = read.data["io"], read.data["io_before_open"]
    calls = {
        name: (seen[0] - before.get(name, [0, 0])[0], seen[1] - before.get(name, [0, 0])[1])
        for name, seen in io.items()
    }
    reads = {name: got for name, got in calls.items() if name != "local_path" and got[0]}
    what = "chunked" if not mode else "chunking off (one object)"
    result.amount(f"read{mode}", f"dataver, {what}: bytes read from the registry", "MiB").add(
        sum(size for _, size in reads.values()) / MIB
    )
    result.amount(f"calls{mode}", f"dataver, {what}: store read calls", "calls").add(
        sum(count for count, _ in reads.values())
    )
    result.row(f"open{mode}", f"dataver, {what}: cold open + seek + read").add(
        read.seconds, read.peak_rss_kib
    )
    local = calls.get("local_path", (0, 0))[0]
    said = ", ".join(f"{name} x{n} ({size:,} B)" for name, (n, size) in sorted(reads.items()))
    return f"{what}: {said or 'none'}; local_path calls: {local}"


def _slice_sha256(path: Path, offset: int, length: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return hashlib.sha256(handle.read(length)).hexdigest()


def _open_notes(c: ChunkSizes, breakdown: str) -> list[str]:
    size = c.chunk_size or MIB
    return [
        "How bytes are counted: in the worker process only (benchmarks/worker.py, "
        "count_io), the methods of the registry's store object (`registry.store`: read, "
        "read_range, read_with_token, get_file; writes too) are wrapped to count calls and "
        "the bytes they return (get_file: the size of the file it wrote). Counted from "
        "after `registry.get(id)` (the record and manifest are read before) to the end of "
        "the read: the open, the seek and the read. The local registry's files are read "
        "by these methods only; `local_path` (a way around them) is counted as well and "
        "must stay 0. The bytes returned are checked against the source file's slice.",
        f"Bound: 2 x the maximum chunk (4 x {human(size)}) = {human(8 * size)} is the "
        f"target; 2 x the average chunk ({human(2 * size)}) is reported too. Rows "
        "'chunking off': the same file stored as one object (dataver before issue 22), "
        "for scale. Each read is a new process with an empty cache folder.",
        f"Store calls of the last run: {breakdown}.",
    ]


# --------------------------------------------------------------------------- chunk-sizes


_METRICS = (
    ("stored", "child stored", "MiB"),
    ("manifests", "manifests/ added", "KiB"),
    ("objects", "files added", "files"),
    ("puts", "store writes (PUTs)", "calls"),
    ("seconds", "child ingest", "s"),
    ("parent_seconds", "parent ingest", "s"),
)


def chunk_sizes(ctx: Context) -> ScenarioResult:
    """The sweep of ``DATAVER_CHUNK_SIZE`` over cases (a)-(c) and the daily sequence."""
    c = _chunk_sizes(ctx)
    title = "Chunk sizes: dataver's child versions for DATAVER_CHUNK_SIZE = " + ", ".join(
        human(size) for size in c.sweep
    )
    result = ScenarioResult("chunk-sizes", title, reference=None)
    cases = ensure_cases(ctx)
    for index in range(ctx.runs):
        for size in c.sweep:
            env = chunk_env(c, size)
            for case in cases:
                with ctx.fresh(
                    f"chunk-sizes-{human(size)}-{case.key}".replace(" ", ""), index
                ) as root:
                    _sweep_case(result, root, env, case, size)
                shutil.rmtree(root)
            with ctx.fresh(f"chunk-sizes-{human(size)}-daily".replace(" ", ""), index) as root:
                _sweep_daily(result, root, env, _daily(c), c.daily_days, size)
            shutil.rmtree(root)
    result.extra.extend(_sweep_matrix(result, c, [*(case.key for case in cases), "daily"]))
    result.notes.extend(_sweep_notes(c, cases))
    return result


def _sweep_case(
    result: ScenarioResult, root: Path, env: dict[str, str], case: Case, size: int
) -> None:
    tool = DataverTool(Registry(root / "registry", root / "cache").with_env(env), "sweep")
    folder = root / "ws"
    folder.mkdir()
    _place(case.parent, folder / case.name)
    parent = tool.snapshot(folder)
    _place(case.child, folder / case.name)
    _record_sweep(result, case.key, size, tool.snapshot(folder), parent.seconds)


def _sweep_daily(
    result: ScenarioResult, root: Path, env: dict[str, str], days: Daily, count: int, size: int
) -> None:
    """The daily sequence: totals over the versions after the first (the first: its parent)."""
    tool = DataverTool(Registry(root / "registry", root / "cache").with_env(env), "sweep")
    folder = root / "ws"
    days.apply(folder, 0)
    first = tool.snapshot(folder)
    steps = []
    for day in range(1, count):
        days.apply(folder, day)
        steps.append(tool.snapshot(folder))
    total = Step(
        sum(x.seconds for x in steps),
        None,
        sum(x.stored for x in steps),
        manifests=sum(x.manifests for x in steps),
        objects=sum(x.objects for x in steps),
        puts=sum(x.puts for x in steps),
    )
    _record_sweep(result, "daily", size, total, first.seconds)


def _record_sweep(result: ScenarioResult, case: str, size: int, step: Step, parent: float) -> None:
    values = {
        "stored": step.stored / MIB,
        "manifests": step.manifests / 1024,
        "objects": float(step.objects),
        "puts": float(step.puts),
        "seconds": step.seconds,
        "parent_seconds": parent,
    }
    for metric, label, unit in _METRICS:
        key, text = f"{case}_{size}_{metric}", f"({case}) {human(size)}: {label}"
        row = result.row(key, text) if unit == "s" else result.amount(key, text, unit)
        row.add(values[metric])


def _sweep_matrix(result: ScenarioResult, c: ChunkSizes, cases: list[str]) -> list[str]:
    """One line per case and chunk size, a column per metric (medians)."""
    head = ["case", "chunk size", *(f"{label}, {unit}" for _, label, unit in _METRICS)]
    lines = [
        "Chunk-size matrix (medians; the rows above hold min/max). 'daily': totals of the "
        "versions after the first.",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(["---"] * len(head)) + " |",
    ]
    for case in cases:
        for size in c.sweep:
            cells = [case, human(size)]
            for metric, _, unit in _METRICS:
                row = result.rows.get(f"{case}_{size}_{metric}")
                value = statistics.median(x.seconds for x in row.samples) if row else float("nan")
                cells.append(
                    f"{value:,.3f}" if unit == "s" else f"{value:,.2f}".removesuffix(".00")
                )
            lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _sweep_notes(c: ChunkSizes, cases: list[Case]) -> list[str]:
    threshold = "8 MiB (default)" if c.threshold is None else human(c.threshold)
    return [
        "dataver only, chunk threshold " + threshold + "; each chunk size gets a fresh "
        "registry per case. (a)-(c): " + "; ".join(f"({x.key}) {x.what}" for x in cases) + ". "
        f"daily: the daily scenario's sequence ({c.daily_days} versions). child stored: "
        "`stats.stored_bytes`; manifests/ added: bytes of the new files under manifests/ "
        "(manifest shards and chunk lists); files added: new files in the registry folder "
        "(every kind); store writes: calls of write/create/replace/put_file counted in the "
        "worker (each is one PUT on S3, more for multipart uploads); ingest: in-process "
        "build time of the child (and of its parent).",
    ]


CHUNK_SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {
    "chunks": chunks,
    "daily": daily,
    "chunk-ingest": chunk_ingest,
    "open-range": open_range,
    "chunk-sizes": chunk_sizes,
}

CHUNK_TREES: dict[str, tuple[str, ...]] = {
    "chunks": (),
    "daily": (),
    "chunk-ingest": ("large",),
    "open-range": (),
    "chunk-sizes": (),
}
"""The trees of :mod:`benchmarks.datagen` each scenario needs (the rest make their own)."""
