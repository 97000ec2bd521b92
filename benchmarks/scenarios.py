"""The scenarios: each runs its measurements ``runs`` times, from fresh state every time.

A run gets an empty folder under ``<work>/runs`` for its registry, caches, DVC repository and
copies. Within a run the tools take turns, so slow drift of the machine spreads over all of
them. Run folders are deleted only between scenarios, followed by a pause: on ext4 without a
journal, creating a file right after many were deleted scans past every inode deleted in the
last 60 s (``recently_deleted()`` in ``fs/ext4/ialloc.c``), which made ``cp -r`` of 10,000
files vary from 0.3 s to 9 s here. Deleting inside a scenario would charge that to whichever
tool ran next.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.chunked import CHUNK_SCENARIOS
from benchmarks.config import SEED, human
from benchmarks.datagen import TreeSpec, ensure_parts
from benchmarks.latency import LatencyProxy
from benchmarks.memory import MEMORY_SCENARIOS
from benchmarks.peers import copy_tree, ensure_clearml, hash_tree, probe_clearml
from benchmarks.realdata import REAL_SCENARIOS
from benchmarks.s3 import DATAVER_PARTS, THREADS, Boto3Floor, MotoServer, bucket_name
from benchmarks.s3 import missing_modules as s3_missing_modules
from benchmarks.startup import STARTUP_SCENARIOS
from benchmarks.subject import OpResult, Registry, SyntheticManifests
from benchmarks.timing import ScenarioResult, run, settle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from benchmarks.config import Sizes
    from benchmarks.datagen import Data
    from benchmarks.peers import Dvc, DvcRepo
    from benchmarks.timing import Row


@dataclass(frozen=True)
class Context:
    """What every scenario needs."""

    work: Path
    data: Data
    sizes: Sizes
    runs: int
    dvc: Dvc | None
    hashers: list[str]
    log: Callable[[str], None]
    pause: float  # seconds to wait after deleting run folders
    peers: bool = True  # False with --no-peers: no DVC, no ClearML

    @property
    def runs_dir(self) -> Path:
        return self.work / "runs"

    @contextmanager
    def fresh(self, scenario: str, index: int) -> Iterator[Path]:
        """A new, empty folder for one run (deleted later by :meth:`clear_runs`)."""
        root = self.runs_dir / f"{scenario}-{index}"
        root.mkdir(parents=True)
        self.log(f"{scenario}: run {index + 1}/{self.runs}")
        yield root

    def clear_runs(self, *, pause: bool) -> None:
        """Delete every run folder; then, if ``pause``, let ext4 forget the deleted inodes.

        The time of the deletion is kept in ``<work>/runs.deleted``, so that a benchmark
        started right after another one (e.g. one ``--only`` scenario after another) still
        waits out the pause before it creates files.
        """
        if self.runs_dir.exists():
            shutil.rmtree(self.runs_dir)
            self._stamp.write_text(f"{time.time():.3f}")
        if not pause or self.pause <= 0 or not self._stamp.is_file():
            return
        left = self.pause - (time.time() - float(self._stamp.read_text() or 0))
        if left > 0:
            settle()
            self.log(f"run folders deleted recently: pausing {left:.0f} s (see scenarios.py)")
            time.sleep(left)

    @property
    def _stamp(self) -> Path:
        return self.work / "runs.deleted"


def _fresh_registry(root: Path, cache: str = "cache") -> Registry:
    return Registry(root / "registry", root / cache)


# --------------------------------------------------------------------------- full versions


def small(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    title = f"Small files: a full version of {s.small_count:,} files x {s.small_size:,} B"
    return _full_version(ctx, "small", title, ctx.data.small)


def large(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    title = f"Large files: a full version of {s.large_count} files x {s.large_size >> 20} MiB"
    return _full_version(ctx, "large", title, ctx.data.large)


def mixed(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    title = (
        f"Mixed sizes: a full version of {s.mixed_count:,} files from "
        f"{s.mixed_min >> 10} KiB to {s.mixed_max >> 20} MiB"
    )
    result = _full_version(ctx, "mixed", title, ctx.data.mixed, nofsync=False)
    sizes = [entry.stat().st_size for entry in ctx.data.mixed.rglob("*") if entry.is_file()]
    packed = sum(1 for size in sizes if size < 1 << 20)
    result.notes.append(
        f"The tree: {len(sizes):,} files, {sum(sizes) / (1 << 30):.2f} GiB; {packed:,} below "
        "dataver's 1 MiB pack threshold; sizes size_min * (max/min) ** (u ** 3), u uniform "
        "(seeded): small files common, large ones rare (benchmarks/datagen.py)."
    )
    return result


def small100k(ctx: Context) -> ScenarioResult:
    """100,000 small files: the full version, and warm gets of 10,000 and 100,000 files."""
    s, data = ctx.sizes, ctx.data
    title = (
        f"Small files at scale: a full version of {s.huge_count:,} files x {s.small_size:,} B; "
        f"cold and warm get_local_copy of {s.huge_count:,} and of {s.small_count:,} files"
    )
    result = ScenarioResult("small100k", title, reference="dataver")
    for index in range(ctx.runs):
        with ctx.fresh("small100k", index) as root:
            registry = _fresh_registry(root)
            op = registry.build(data.huge, "small100k")
            _record_build(result, op)
            if ctx.dvc is not None:
                _dvc_add_push(result, ctx.dvc, root / "dvc", data.huge, "dvc", "")
            _floors(ctx, result, root, data.huge)
            _cold_warm(result, registry, root, "huge", op.data["id"], data.huge)
            small_id = registry.build(data.small, "small10k").data["id"]
            _cold_warm(result, registry, root, "small", small_id, data.small)
    result.notes.append(
        "dataver and DVC: as in the small-files table, for 10x the files. The gets: the "
        f"{s.huge_count:,}-file version and a {s.small_count:,}-file version (the small-files "
        "tree, built into the same registry, untimed) are each fetched by a new process into "
        "an empty cache folder (cold), then by another new process (warm): a warm get checks "
        "the tree's marker only, so its time must not grow with the number of files."
    )
    return result


def _cold_warm(
    result: ScenarioResult, registry: Registry, root: Path, key: str, version: str, folder: Path
) -> None:
    """Rows ``cold_<key>`` and ``warm_<key>``: get_local_copy into a new cache, then again."""
    cached = registry.with_cache(root / f"cache-get-{key}")
    cold, warm = cached.get(version), cached.get(version)
    _check_tree(cached.cache / "versions" / version, folder)
    what = f"get_local_copy of {_count_files(folder):,} files"
    result.row(f"cold_{key}", f"dataver: cold {what}").add(cold.seconds, cold.peak_rss_kib)
    result.row(f"warm_{key}", f"dataver: warm {what}").add(warm.seconds, warm.peak_rss_kib)


def _full_version(
    ctx: Context, name: str, title: str, folder: Path, *, nofsync: bool = True
) -> ScenarioResult:
    result = ScenarioResult(name, title, reference="dataver")
    for index in range(ctx.runs):
        with ctx.fresh(name, index) as root:
            op = _fresh_registry(root).build(folder, name)
            _record_build(result, op)
            if nofsync:
                unsynced = _fresh_registry(root / "nofsync").without_fsync().build(folder, name)
                result.row("nofsync", "dataver with DATAVER_FSYNC=false (for comparison)").add(
                    unsynced.seconds, unsynced.peak_rss_kib
                )
            if ctx.dvc is not None:
                _dvc_add_push(result, ctx.dvc, root / "dvc", folder, "dvc", "")
            _floors(ctx, result, root, folder)
    result.notes.append(
        "dataver: in-process time of create + add_files + upload + finalize into a fresh local "
        "registry with an empty cache; 'whole process' adds interpreter start and imports "
        "(DVC is timed the same way, as processes). Peak RSS is the measured process's."
    )
    return result


def _record_build(
    result: ScenarioResult, op: OpResult, key: str = "dataver", what: str = ""
) -> None:
    """Rows ``<key>`` (in-process), ``<key>_wall`` (whole process) and one per phase."""
    result.row(key, f"dataver: create + add_files + upload + finalize{what}").add(
        op.seconds, op.peak_rss_kib
    )
    result.row(f"{key}_wall", f"dataver, whole process (incl. interpreter start){what}").add(
        op.wall, op.peak_rss_kib
    )
    prefix = "" if key == "dataver" else f"{key}_"
    for phase, seconds in op.data["phases"].items():
        result.row(f"{prefix}phase_{phase}", f"  of which {phase}").add(float(seconds))


def _dvc_add_push(
    result: ScenarioResult, dvc: Dvc, root: Path, folder: Path, key: str, what: str
) -> None:
    _time_add_push(result, dvc.repo(root, folder), key, what)


def _time_add_push(result: ScenarioResult, repo: DvcRepo, key: str, what: str) -> None:
    """Rows ``<key>`` (dvc add + dvc push), ``<key>_add`` and ``<key>_push``."""
    added, pushed = repo.add_push()
    rss = max(added.peak_rss_kib, pushed.peak_rss_kib)
    result.row(key, f"DVC {what}dvc add + dvc push").add(added.wall + pushed.wall, rss)
    result.row(f"{key}_add", "  of which dvc add").add(added.wall, added.peak_rss_kib)
    result.row(f"{key}_push", "  of which dvc push").add(pushed.wall, pushed.peak_rss_kib)


def _floors(ctx: Context, result: ScenarioResult, root: Path, folder: Path) -> None:
    copied = copy_tree(folder, root / "cp-copy")
    result.row("cp", "floor: cp -r (same disk)").add(copied.wall, copied.peak_rss_kib)
    for tool in ctx.hashers:
        hashed = hash_tree(tool, folder)
        result.row(tool, f"floor: {tool} of every file").add(hashed.wall, hashed.peak_rss_kib)


# ------------------------------------------------------------------------------ 1% child


def child(ctx: Context) -> ScenarioResult:
    s, data = ctx.sizes, ctx.data
    title = (
        f"1% child: {s.changed_count:,} of {s.small_count:,} small files changed, "
        "parent = the full version"
    )
    result = ScenarioResult("child", title, reference="full")

    def edit(tree: Path) -> None:
        for rel in data.changed:
            shutil.copyfile(data.child / rel, tree / rel)

    for index in range(ctx.runs):
        with ctx.fresh("child", index) as root:
            registry, parent = _child_in_place(
                result, root, data.small, "child", data.changed, edit
            )
            separate = registry.build(data.child, "child", parents=[parent])
            _check_changed(separate, len(data.changed))
            result.row("separate", "dataver: 1% child from a separate tree").add(
                separate.seconds, separate.peak_rss_kib
            )
            if ctx.dvc is not None:
                _dvc_child(result, ctx.dvc, root / "dvc", data)
    result.notes.append(
        "'edited in place': the parent was built from a working folder, then 1% of its files "
        "were overwritten and the child built from the same folder (the stat cache vouches for "
        "the other 99%). 'separate tree': the child is built from the generated child tree, a "
        "different folder, so every file is read and hashed again: no tool can do that in 10% "
        "of a full version (reading the bytes alone, e.g. sha256sum in the small-files "
        "table, costs about 20% of it), so only the in-place child is held to the target. "
        "Only the child is timed. DVC: the same in-place edit in its workspace after a full "
        "add + push. 'floor: Python scandir + stat': only listing the tree and stat-ing each "
        "file in a fresh interpreter, what any Python tool must do to find the 1% that changed."
    )
    result.notes.append(_per_file_note(result))
    return result


def childmix(ctx: Context) -> ScenarioResult:
    """The 1% child of :func:`child` on a tree of realistic sizes (most files a few KiB,
    a tail up to 1 MiB): the changed files cost their bytes as well."""
    s, data = ctx.sizes, ctx.data
    title = (
        f"1% child, mixed sizes: {s.childmix_changed:,} of {s.childmix_count:,} files from "
        f"{human(s.childmix_min)} to {human(s.childmix_max)} changed, parent = the full version"
    )
    result = ScenarioResult("childmix", title, reference="full")
    sizes = {rel: (data.childmix / rel).stat().st_size for rel in data.childmix_changed}

    seeds = iter(range(ctx.runs))  # NOTE: other new bytes in every run, the same every time

    def edit(tree: Path) -> None:
        rng = random.Random(next(seeds))  # noqa: S311 - test data, not secrets
        for rel, size in sizes.items():
            (tree / rel).write_bytes(rng.randbytes(size))  # NOTE: in place, the same size

    for index in range(ctx.runs):
        with ctx.fresh("childmix", index) as root:
            _child_in_place(result, root, data.childmix, "childmix", data.childmix_changed, edit)
    tree = [entry.stat().st_size for entry in data.childmix.rglob("*") if entry.is_file()]
    result.notes.append(
        f"The tree: {len(tree):,} files, {sum(tree) / (1 << 20):,.0f} MiB (median "
        f"{sorted(tree)[len(tree) // 2]:,} B; sizes size_min * (max/min) ** (u ** 3), u "
        f"uniform, seeded: small files common, large ones rare); its 1% child rewrites "
        f"{len(sizes):,} files in place, {sum(sizes.values()) / (1 << 20):.1f} MiB, with new "
        "bytes of the same sizes. Rows as in the 1% child of small files."
    )
    result.notes.append(_per_file_note(result))
    return result


def _child_in_place(
    result: ScenarioResult,
    root: Path,
    source: Path,
    name: str,
    changed: tuple[str, ...],
    edit: Callable[[Path], None],
) -> tuple[Registry, str]:
    """Rows ``full`` (the parent, from a copy of ``source``), ``inplace`` (its child once
    ``edit`` rewrote the ``changed`` files in place) and ``stat`` (the scan floor of the
    copy); the registry and the parent's id. The ``full`` row counts the tree's files, the
    ``inplace`` row the changed ones (for the per-file targets of report.py)."""
    registry = _fresh_registry(root)
    tree = root / "tree"
    run(["cp", "-r", str(source), str(tree)])
    parent = registry.build(tree, name)
    result.row("full", "dataver: full version (the parent)", files=parent.data["files"]).add(
        parent.seconds, parent.peak_rss_kib
    )
    edit(tree)
    edited = registry.build(tree, name, parents=[parent.data["id"]])
    _check_changed(edited, len(changed))
    result.row("inplace", "dataver: 1% child, files edited in place", files=len(changed)).add(
        edited.seconds, edited.peak_rss_kib
    )
    floor = registry.stat_tree(tree)
    result.row("stat", "floor: Python scandir + stat of every file").add(
        floor.seconds, floor.peak_rss_kib
    )
    return registry, parent.data["id"]


def _per_file_note(result: ScenarioResult) -> str:
    """The child's time as the scan floor plus a cost per changed file (medians)."""
    full, child, floor = (result.rows[k] for k in ("full", "inplace", "stat"))
    changed, files = child.files or 1, full.files or 1
    each = (child.median - floor.median) / changed
    in_full = (full.median - floor.median) / files
    return (
        f"Per changed file: the child is the scan floor ({floor.median:.3f} s) plus "
        f"{each * 1e3:.2f} ms for each of its {changed:,} changed files; a file costs "
        f"{in_full * 1e3:.3f} ms in the full version beyond the same floor, so a changed "
        f"file costs {each / in_full:.1f}x that (the per-file targets judge the ms figure)."
    )


def _check_changed(op: OpResult, expected: int) -> None:
    if op.data["changed"] != expected:
        raise RuntimeError(f"child reported {op.data['changed']} changed files, not {expected}")


def _dvc_child(result: ScenarioResult, dvc: Dvc, root: Path, data: Data) -> None:
    repo = dvc.repo(root, data.small)
    added, pushed = repo.add_push()
    result.row("dvc_full", "DVC full: dvc add + dvc push").add(
        added.wall + pushed.wall, max(added.peak_rss_kib, pushed.peak_rss_kib)
    )
    repo.overwrite(data.child, data.changed)
    added, pushed = repo.add_push()
    result.row("dvc_child", "DVC 1% child (in place): dvc add + dvc push").add(
        added.wall + pushed.wall, max(added.peak_rss_kib, pushed.peak_rss_kib)
    )


# ---------------------------------------------------------------------------- 1 renamed


def rename(ctx: Context) -> ScenarioResult:
    s, data = ctx.sizes, ctx.data
    title = f"Child with 1 file renamed: 1 of {s.small_count:,} small files, parent = full version"
    result = ScenarioResult("rename", title, reference="full")
    rel = data.changed[0]
    for index in range(ctx.runs):
        with ctx.fresh("rename", index) as root:
            registry = _fresh_registry(root)
            tree = root / "tree"
            run(["cp", "-r", str(data.small), str(tree)])
            parent = registry.build(tree, "rename")
            result.row("full", "dataver: full version (the parent)").add(
                parent.seconds, parent.peak_rss_kib
            )
            _rename(tree / rel)
            renamed = registry.build(
                tree, "rename", [parent.data["id"]], check_diff=True, sync=True
            )
            _check_one_rename(renamed)
            result.row("renamed", "dataver: child with 1 file renamed (sync_folder)").add(
                renamed.seconds, renamed.peak_rss_kib
            )
            result.row("renamed_wall", "dataver: the same, whole process").add(
                renamed.wall, renamed.peak_rss_kib
            )
            if ctx.dvc is not None:
                repo = ctx.dvc.repo(root / "dvc", data.small)
                _time_add_push(result, repo, "dvc_full", "full: ")
                _rename(repo.workspace / "data" / rel)
                _time_add_push(result, repo, "dvc_renamed", "child with 1 file renamed: ")
    result.notes.append(
        f"One file ({rel}) is renamed in place in a copy of the small-files tree after the "
        "parent is built; the child (parent = the full version) is built from the same folder "
        "by a new process with sync_folder (add_files would keep the old path: it only adds), "
        "and its diff from the parent (untimed) is checked to be exactly one rename. DVC: "
        "the same rename in its workspace, then dvc add + dvc push again."
    )
    return result


def _rename(path: Path) -> None:
    path.rename(path.with_name(f"renamed-{path.name}"))


def _check_one_rename(op: OpResult) -> None:
    want = {"added": 0, "removed": 0, "modified": 0, "renamed": 1}
    if op.data["diff"] != want:
        raise RuntimeError(f"the renamed child's diff is {op.data['diff']}, not {want}")


# ------------------------------------------------------------------------- no-change sync


def sync(ctx: Context) -> ScenarioResult:
    s, folder = ctx.sizes, ctx.data.many
    title = f"No-change sync_folder of {s.many_count:,} files x {s.many_size:,} B into a child"
    result = ScenarioResult("sync", title, reference="warm")
    for index in range(ctx.runs):
        with ctx.fresh("sync", index) as root:
            registry = _fresh_registry(root, "cache-build")
            parent = registry.build(folder, "many")
            result.row("build", "dataver: full version of the folder (setup)").add(
                parent.seconds, parent.peak_rss_kib
            )
            fresh_cache = registry.with_cache(root / "cache-sync")
            cold = fresh_cache.sync(parent.data["id"], folder)
            result.row("cold", "dataver: first sync, empty stat cache").add(
                cold.seconds, cold.peak_rss_kib
            )
            warm = fresh_cache.sync(parent.data["id"], folder)
            result.row("warm", "dataver: second sync, stat cache warm").add(
                warm.seconds, warm.peak_rss_kib
            )
            for op in (cold, warm):
                if op.data["counts"] != [0, 0, 0]:
                    raise RuntimeError(f"no-change sync reported {op.data['counts']}")
            settle(folder)
            walked = run(["find", str(folder), "-type", "f", "-printf", "%s %T@ %i\n"])
            result.row("find", "floor: find -printf size/mtime/inode of every file").add(
                walked.wall, walked.peak_rss_kib
            )
    result.notes.append(
        "Each sync creates a child of the full version and calls sync_folder on the unchanged "
        "folder (only sync_folder is timed; counts checked to be (0, 0, 0)). The first sync "
        "uses a new, empty cache folder, so it hashes every file; the second sync, in a new "
        "process, finds every file in the stat cache."
    )
    return result


# ------------------------------------------------------------------------ get_local_copy


def get(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    title = (
        f"get_local_copy: {s.small_count:,} small files and {s.large_count} large files, "
        "cold (empty cache), warm, and rebuilt from cached blobs"
    )
    result = ScenarioResult("get", title, reference=None)
    kinds = {"small": ctx.data.small, "large": ctx.data.large}
    for index in range(ctx.runs):
        with ctx.fresh("get", index) as root:
            registry = _fresh_registry(root, "cache-build")
            for kind, folder in kinds.items():
                version = registry.build(folder, f"get-{kind}").data["id"]
                cached = registry.with_cache(root / f"cache-{kind}")
                tree = cached.cache / "versions" / version
                _get_cold_warm(result, cached, version, kind)
                _check_tree(tree, folder)
                if kind == "small":
                    _get_from_cache(result, cached, version, s.small_count)
                    _check_tree(tree, folder)
                copied = copy_tree(folder, root / f"cp-{kind}")
                result.row(f"cp_{kind}", f"floor: cp -r, {kind}").add(
                    copied.wall, copied.peak_rss_kib
                )
                if ctx.dvc is not None:
                    repo = ctx.dvc.repo(root / f"dvc-{kind}", folder)
                    repo.add_push()
                    pulled = repo.pull_cold()
                    result.row(f"dvc_{kind}", f"DVC dvc pull into an empty cache, {kind}").add(
                        pulled.wall, pulled.peak_rss_kib
                    )
    result.notes.append(
        "Cold: a new process with an empty cache folder (the registry's files read into the "
        "page cache first, as cp's source is). Warm: another new process, same cache. "
        "get_local_copy returns a read-only tree of hard links into the cache."
    )
    result.notes.append(
        "Tree from cached blobs: a new process drops the version's tree and its marker "
        "(Cache.drop, not timed; the blobs stay), then get_local_copy rebuilds the tree by "
        "checking the size of each cached blob and hard-linking it; the blobs are checked "
        "unchanged afterwards (same files, same inodes: nothing was downloaded). "
        + _rate_note(result.rows.get("rebuilt_small"))
    )
    result.notes.append(
        "Warm get with DATAVER_CACHE_VERIFY=size: a new process, the tree complete; besides the "
        "marker it stats every file of the tree and compares its size with the manifest's."
    )
    return result


def _get_cold_warm(result: ScenarioResult, registry: Registry, version: str, kind: str) -> None:
    cold = registry.get(version)
    result.row(f"cold_{kind}", f"dataver: cold get_local_copy, {kind}").add(
        cold.seconds, cold.peak_rss_kib
    )
    warm = registry.get(version)
    result.row(f"warm_{kind}", f"dataver: warm get_local_copy, {kind}").add(
        warm.seconds, warm.peak_rss_kib
    )


def _get_from_cache(result: ScenarioResult, registry: Registry, version: str, files: int) -> None:
    """The tree rebuilt from cached blobs, then a warm get that checks every file's size."""
    blobs = _inodes(registry.cache / "blobs")
    rebuilt = registry.rebuild(version)
    if _inodes(registry.cache / "blobs") != blobs:
        raise RuntimeError("rebuilding a tree from cached blobs changed the blobs (a download?)")
    label = "dataver: tree rebuilt from cached blobs, small"
    result.row("rebuilt_small", label, files=files).add(rebuilt.seconds, rebuilt.peak_rss_kib)
    checked = registry.with_verify("size").get(version)
    result.row("warm_size_small", "dataver: warm get with DATAVER_CACHE_VERIFY=size, small").add(
        checked.seconds, checked.peak_rss_kib
    )


def _inodes(folder: Path) -> dict[str, int]:
    """Every file under ``folder``, by path: its inode number."""
    return {
        os.path.join(parent, name): os.stat(os.path.join(parent, name)).st_ino
        for parent, _, names in os.walk(folder)
        for name in names
    }


def _rate_note(row: Row | None) -> str:
    """The median of a row with a file count, as files per second."""
    if row is None or not row.samples or row.files is None:
        return ""
    return (
        f"Median: {row.files:,} files in {row.median:.3f} s = "
        f"{row.files / row.median:,.0f} files/s."
    )


def _check_tree(tree: Path, source: Path) -> None:
    got, want = _count_files(tree), _count_files(source)
    if got != want:
        raise RuntimeError(f"get_local_copy gave {got} files in {tree}, expected {want}")


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


# ------------------------------------------------------------------- one file of a version


def getone(ctx: Context) -> ScenarioResult:
    s, folder = ctx.sizes, ctx.data.large
    title = (
        f"One file of a large version ({s.large_count} files x {s.large_size >> 20} MiB): "
        "Dataset.open and get_local_copy(paths=[...]) against a cold full get"
    )
    result = ScenarioResult("getone", title, reference="full")
    rel = sorted(p.name for p in folder.iterdir())[0]
    for index in range(ctx.runs):
        with ctx.fresh("getone", index) as root:
            registry = _fresh_registry(root, "cache-build")
            version = registry.build(folder, "getone").data["id"]
            full = registry.with_cache(root / "cache-full").get(version)
            _check_tree(root / "cache-full" / "versions" / version, folder)
            result.row("full", "dataver: cold get_local_copy of the whole version").add(
                full.seconds, full.peak_rss_kib
            )
            opened = registry.with_cache(root / "cache-open").open_one(version, rel)
            if opened.data["bytes"] != s.large_size:
                raise RuntimeError(f"open read {opened.data['bytes']} bytes of {rel}")
            result.row("open", "dataver: cold Dataset.open(one file), read to the end").add(
                opened.seconds, opened.peak_rss_kib
            )
            subset = registry.with_cache(root / "cache-subset").get(version, [rel])
            if _count_files(Path(subset.data["path"])) != 1:
                raise RuntimeError(f"get_local_copy(paths=[{rel!r}]) did not give one file")
            result.row("subset", "dataver: cold get_local_copy(paths=[one file])").add(
                subset.seconds, subset.peak_rss_kib
            )
            settle(folder)
            one = run(["cp", str(folder / rel), str(root / "cp-one")])
            result.row("cp_one", "floor: cp of the one file").add(one.wall, one.peak_rss_kib)
            copied = copy_tree(folder, root / "cp-all")
            result.row("cp_all", "floor: cp -r of the whole version").add(
                copied.wall, copied.peak_rss_kib
            )
    result.notes.append(
        f"The file is {rel} ({s.large_size >> 20} MiB, one object in the registry). Each "
        "dataver row is a new process with its own empty cache folder (the registry read "
        "into the page cache first); the version is built once per run, untimed."
    )
    return result


# -------------------------------------------------------------------- 1M-entry manifest


def manifest(ctx: Context) -> ScenarioResult:
    count = ctx.sizes.manifest_entries
    changed = max(1, count // 100)
    title = (
        f"A {count:,}-entry manifest (synthetic entries, no files): build, load, and diff "
        f"with a copy of it in which 1% ({changed:,}) of the entries differ"
    )
    result = ScenarioResult("manifest", title, reference=None)
    for index in range(ctx.runs):
        with ctx.fresh("manifest", index) as root:
            store = SyntheticManifests(root / "store")
            built = store.build(count)
            result.row("build", "dataver: build (write_manifest of streamed entries)").add(
                built.seconds, built.peak_rss_kib
            )
            result.row("build_entries", "  of which making the entries (measured alone)").add(
                float(built.data["entries_seconds"])
            )
            other = store.build(count, changed)
            result.row("build_changed", "dataver: build of the 1%-changed copy").add(
                other.seconds, other.peak_rss_kib
            )
            _manifest_reads(result, store, built.data["ref"], other.data["ref"], changed)
    result.notes.extend(_manifest_notes())
    return result


def _manifest_reads(
    result: ScenarioResult, store: SyntheticManifests, ref: str, other: str, changed: int
) -> None:
    """Rows ``load``, ``load_cpu``, ``diff`` and ``diff_cpu``: each a new process."""
    loaded = store.load(ref)
    result.row("load", "dataver: load (decode, validate, iterate every entry)").add(
        loaded.seconds, loaded.peak_rss_kib
    )
    result.row("load_cpu", "  its CPU time (process_time)").add(float(loaded.data["cpu"]))
    diffed = store.diff(ref, other)
    if diffed.data["counts"] != [0, 0, changed, 0]:
        raise RuntimeError(f"diff of the manifests found {diffed.data['counts']}")
    result.row("diff", "dataver: diff_manifests of the two").add(
        diffed.seconds, diffed.peak_rss_kib
    )
    result.row("diff_cpu", "  its CPU time (process_time)").add(float(diffed.data["cpu"]))


def _manifest_notes() -> list[str]:
    return [
        "Entries like packed 4 KiB files, 1,000 to a folder (benchmarks/worker.py, "
        "synthetic_entries), written by the core's manifest writer into a local store folder "
        "(content-defined shards of ~4,096 entries, gzip JSON, fsync on). The changed copy "
        "gives 1% of the entries, picked at random, another hash: the changes are scattered, "
        "so every shard differs and the diff must decode both manifests in full.",
        "Each operation is a new process; peak RSS is the whole process's (interpreter and "
        "imports included). Load and diff read the store's files into the page cache first. "
        "CPU time is shown because on a shared 2-CPU machine the wall time includes waiting "
        "for a CPU.",
    ]


# -------------------------------------------------------------------------------- ClearML


def clearml(ctx: Context) -> ScenarioResult:
    """Whether ClearML's datasets work without a server (offline mode), tried for real."""
    s = ctx.sizes
    title = f"ClearML without a server (offline mode), on the {s.small_count:,} small files"
    result = ScenarioResult("clearml", title, reference=None)
    venv = ensure_clearml(ctx.work, ctx.log) if ctx.peers else None
    if venv is None:
        result.notes.append("Not run: --no-peers, or ClearML could not be installed (see log).")
        return result
    probe = None
    for index in range(ctx.runs):
        with ctx.fresh("clearml", index):
            probe = probe_clearml(venv, ctx.data.small)
            for name, _, seconds in probe.steps:
                if name.startswith("Dataset.add_files") and seconds is not None:
                    label = "ClearML offline: Dataset.add_files (hashes; stores nothing)"
                    result.row("add_files", label).add(seconds)
    if probe is not None:
        result.notes.append(
            f"clearml {probe.version}, in its own venv (`{venv}`), run in a new temporary "
            "folder outside the git repository that is also `HOME` (no clearml.conf, no "
            "server), after Task.set_offline(True). What each step did (last run):"
        )
        result.notes.extend(f"`{name}`: {outcome}" for name, outcome, _ in probe.steps)
        result.notes.append(f"`clearml-data create` (the CLI) without a server: {probe.cli}")
        result.notes.append(_clearml_verdict(probe.steps))
    return result


def _clearml_verdict(steps: list[tuple[str, str, float | None]]) -> str:
    """Whether ClearML can be a peer without a server, from what the probe's steps did."""
    refused = [
        f"`{name}`"
        for name, outcome, _ in steps
        if outcome.startswith("error") or "Cannot" in outcome or outcome == "0"
    ]
    if not refused:
        return "Every step completed: ClearML could be measured as a peer here."
    return (
        "Verdict: not a peer. Without a server ClearML cannot store a version or read one "
        f"back ({', '.join(refused)}); offline mode only records a session to import into a "
        "server later. The add_files row is hashing alone, not comparable with a stored "
        "version. A clearml-server is MongoDB, Elasticsearch and Redis plus its own "
        "services, shipped as Docker images: this machine has a Docker client but no daemon, "
        "and reaches no registry but PyPI."
    )


# ------------------------------------------------------------------------------------- S3


def s3(ctx: Context) -> ScenarioResult:
    s = ctx.sizes
    title = (
        f"S3 (one moto server): {s.small_count:,} small files x {s.small_size:,} B and "
        f"{s.large_count} large files x {s.large_size >> 20} MiB, dataver against boto3 and DVC"
    )
    result = ScenarioResult("s3", title, reference=None)
    missing = s3_missing_modules()
    if missing:
        result.notes.append(f"Not run: {', '.join(missing)} not installed in this environment.")
        return result
    with MotoServer() as server:
        ctx.log(f"s3: moto server at {server.url}")
        for index in range(ctx.runs):
            with ctx.fresh("s3", index) as root:
                bucket = server.create_bucket(bucket_name("s3", index))
                _s3_small(ctx, result, server, bucket, root)
                _s3_large(ctx, result, server, bucket, root)
            server.reset()  # drops this run's bucket: moto keeps every object until then
    result.notes.extend(_s3_notes(ctx))
    return result


def _s3_registry(server: MotoServer, bucket: str, prefix: str, cache: Path) -> Registry:
    return Registry(f"s3://{bucket}/{prefix}", cache).with_env(server.env())


def _s3_small(
    ctx: Context, result: ScenarioResult, server: MotoServer, bucket: str, root: Path
) -> None:
    """dataver's build, one PUT per file, and DVC push of the small files, into ``bucket``."""
    folder, floor = ctx.data.small, Boto3Floor(server, bucket)
    registry = _s3_registry(server, bucket, "reg", root / "cache-small")
    op = registry.build(folder, "s3-small")
    _record_build(result, op, "dataver", ", small")
    cold = registry.with_cache(root / "cache-small-get").get(op.data["id"])
    _check_tree(root / "cache-small-get" / "versions" / op.data["id"], folder)
    result.row("get_small", "dataver: cold get_local_copy, small").add(
        cold.seconds, cold.peak_rss_kib
    )
    result.row("get_small_wall", "dataver: the same, whole process").add(
        cold.wall, cold.peak_rss_kib
    )
    put = floor.put_each(folder, "put")
    _check_count(put, ctx.sizes.small_count)
    result.row("put_each", f"floor: one put_object per file, {THREADS} threads, small").add(
        put.seconds, put.peak_rss_kib
    )
    if ctx.dvc is not None and ctx.dvc.s3_ok:
        url = f"s3://{bucket}/dvc"
        repo = ctx.dvc.s3_repo(root / "dvc", folder, url, server.url, _without_endpoint(server))
        _time_add_push(result, repo, "dvc", "to the S3 remote: ")
        pushed = server.count_objects(bucket, "dvc/")
        if pushed < ctx.sizes.small_count:
            expected = ctx.sizes.small_count
            raise RuntimeError(f"dvc push left {pushed} objects in {url}, not >= {expected}")
        pulled = repo.pull_cold()
        _check_tree(repo.workspace / "data", folder)
        result.row("dvc_pull", "DVC dvc pull from the S3 remote into an empty cache, small").add(
            pulled.wall, pulled.peak_rss_kib
        )


def _without_endpoint(server: MotoServer) -> dict[str, str]:
    """The server's ``AWS_*`` variables minus the endpoint: DVC gets it from its config."""
    return {k: v for k, v in server.env().items() if k != "AWS_ENDPOINT_URL"}


def _s3_large(
    ctx: Context, result: ScenarioResult, server: MotoServer, bucket: str, root: Path
) -> None:
    """Upload and cold download of the large files: dataver against boto3's transfers."""
    folder, floor = ctx.data.large, Boto3Floor(server, bucket)
    # Only above boto3's default 8 MiB threshold do dataver's part sizes change anything.
    parts = ctx.sizes.large_size > 8 << 20
    registry = _s3_registry(server, bucket, "large-reg", root / "cache-large")
    op = registry.build(folder, "s3-large")
    _record_build(result, op, "dataver_large", ", large")
    uploaded = floor.upload_files(folder, "upload")
    _check_count(uploaded, ctx.sizes.large_count)
    label = f"floor: boto3 upload_file of each file, max_concurrency={THREADS}, large"
    result.row("upload_file", label).add(uploaded.seconds, uploaded.peak_rss_kib)
    if parts:
        again = floor.upload_files(folder, "upload-parts", DATAVER_PARTS)
        label = "floor: upload_file with dataver's part sizes, large (not judged)"
        result.row("upload_file_parts", label).add(again.seconds, again.peak_rss_kib)
    cold = registry.with_cache(root / "cache-get").get(op.data["id"])
    _check_tree(root / "cache-get" / "versions" / op.data["id"], folder)
    result.row("get_large", "dataver: cold get_local_copy, large").add(
        cold.seconds, cold.peak_rss_kib
    )
    down = floor.download_files("upload", root / "boto3-get")
    _check_tree(root / "boto3-get", folder)
    label = f"floor: boto3 download_file of each object, max_concurrency={THREADS}, large"
    result.row("download_file", label).add(down.seconds, down.peak_rss_kib)
    if parts:
        again = floor.download_files("upload", root / "boto3-get-parts", DATAVER_PARTS)
        label = "floor: download_file with dataver's part sizes, large (not judged)"
        result.row("download_file_parts", label).add(again.seconds, again.peak_rss_kib)


def _check_count(op: OpResult, expected: int) -> None:
    if op.data["files"] != expected:
        raise RuntimeError(f"{op.data['files']} files transferred, expected {expected}")


def _s3_notes(ctx: Context) -> list[str]:
    """The S3 table's notes: what each row measures, and why the numbers are moto's."""
    notes = [
        "One moto server (`python -m moto.server`: a single Python process, threaded, one GIL) "
        "on 127.0.0.1, started for this scenario and stopped after it; a new bucket per run, "
        "and the server reset after each run. Absolute numbers are moto-bound (its request "
        "handling, not a network or a real object store, is the bottleneck) and moto shares "
        "this machine's CPUs with the measured process, so only the ratios mean anything, and "
        "only as relative request costs.",
        "dataver: the same build as in the local tables (create + add_files + upload + "
        "finalize, in a fresh worker process, empty cache) into `s3://<bucket>/reg`, boto3 "
        "configured by `AWS_*` variables including `AWS_ENDPOINT_URL`. Floors: the same kind "
        "of worker process (`benchmarks/worker.py`), boto3 client made before the timer; one "
        f"`put_object` per file from a ThreadPoolExecutor({THREADS}); large files with "
        f"`upload_file` / `download_file` one file after another, "
        f"`TransferConfig(max_concurrency={THREADS})` (boto3's defaults otherwise: 8 MiB "
        "threshold and parts), downloads of the floor's own uploaded objects (the same bytes).",
        "dataver's S3 transfers use a 64 MiB multipart threshold and 16 MiB parts. moto reads "
        "the whole object for every ranged GET and slices it, so on moto a download costs "
        "about (number of parts) x (object size). The rows '... with dataver's part sizes' (only "
        "when the large files exceed boto3's 8 MiB threshold) show how much of a gap is that "
        "count of parts rather than the tool.",
    ]
    if ctx.dvc is None:
        notes.append("DVC not run (--no-peers or not installed).")
    elif not ctx.dvc.s3_ok:
        notes.append(f"DVC push to S3 not measured: {ctx.dvc.s3}.")
    else:
        notes.append(
            f"DVC: a fresh repository per run with the S3 remote `s3://<bucket>/dvc` "
            f"(dvc-s3 {ctx.dvc.s3}), `endpointurl` set with `dvc remote modify`, credentials "
            "from the same `AWS_*` variables, DVC's default `jobs` (4 x CPUs); `dvc add` (local "
            "hashing) and `dvc push` each timed as a whole process, the pushed objects counted "
            "afterwards. The target compares `dvc push` alone with dataver's whole process, "
            "which also hashes. Then `dvc pull` with DVC's cache and workspace copy moved "
            "aside (a cold pull), against dataver's cold get of the small version into an "
            "empty cache."
        )
    return notes


# ------------------------------------------------------------------- many writers (issue 21)


def writers_s3(ctx: Context) -> ScenarioResult:
    """N writer processes build one version on S3 (with latency), against 1 writer."""
    s = ctx.sizes
    count, each = s.s3_writers, s.writers_s3_files
    title = (
        f"Many writers on S3 (moto, {s.s3_latency_ms} ms added per request): {count} writers "
        f"x {each:,} files x {human(s.small_size)} into one version, against 1 writer of the "
        f"same {count * each:,} files"
    )
    result = ScenarioResult("writers-s3", title, reference="one")
    missing = s3_missing_modules()
    if missing:
        result.notes.append(f"Not run: {', '.join(missing)} not installed in this environment.")
        return result
    parts = _writer_parts(ctx, count, each)
    mine = [(p, p.name) for p in parts]  # NOTE: writer k adds folder p<k> as p<k>
    with MotoServer() as server, LatencyProxy(server.url, s.s3_latency_ms / 1000) as proxy:
        ctx.log(f"writers-s3: moto server at {server.url}, {s.s3_latency_ms} ms at {proxy.url}")
        env = {**server.env(), "AWS_ENDPOINT_URL": proxy.url}
        for index in range(ctx.runs):
            with ctx.fresh("writers-s3", index) as root:
                measured = {}
                for key, parts_of in (("one", [(parts[0].parent, "")]), ("many", mine)):
                    bucket = server.create_bucket(bucket_name(f"writers-{key}", index))
                    registry = Registry(f"s3://{bucket}/reg", root / f"cache-{key}")
                    name = f"writers-{len(parts_of)}"
                    measured[key] = registry.with_env(env).writers(name, parts_of, count * each)
                    server.reset()  # NOTE: each measurement starts with an empty server
                _record_writers(result, measured["one"], measured["many"], count)
        if proxy.connections == 0:
            raise RuntimeError("no request went through the latency proxy")
    result.notes.extend(_writers_notes(result, count, each))
    result.notes.append(
        f"S3: one moto server (as in the S3 table: only ratios mean anything) behind "
        f"benchmarks/latency.py, a TCP delay line that forwards every byte the clients send "
        f"{s.s3_latency_ms} ms after it arrived (answers come back at once): each request "
        f"pays a {s.s3_latency_ms} ms round trip, bandwidth is not limited. A new bucket per "
        "measurement, the server reset after each one."
    )
    return result


def writers_local(ctx: Context) -> ScenarioResult:
    """N writer processes build one version in a local registry folder, against 1 writer."""
    s = ctx.sizes
    count, each = s.local_writers, s.writers_local_files
    title = (
        f"Many writers locally: {count} writers x {each:,} files x {human(s.small_size)} into "
        f"one version in a local registry, against 1 writer of the same {count * each:,} files"
    )
    result = ScenarioResult("writers-local", title, reference="one")
    parts = _writer_parts(ctx, count, each)
    for index in range(ctx.runs):
        with ctx.fresh("writers-local", index) as root:
            one = Registry(root / "registry-one", root / "cache-one").writers(
                "writers-1", [(parts[0].parent, "")], count * each
            )
            many = Registry(root / "registry-many", root / "cache-many").writers(
                f"writers-{count}", [(p, p.name) for p in parts], count * each
            )
            _record_writers(result, one, many, count)
    result.notes.extend(_writers_notes(result, count, each))
    return result


def _writer_parts(ctx: Context, count: int, each: int) -> list[Path]:
    """``count`` folders of ``each`` small files (generated once, under the data folder)."""
    s = ctx.sizes
    spec = TreeSpec(each, s.small_size, s.files_per_dir, SEED + 21)
    return ensure_parts(ctx.data.root / f"writers-{count}x{each}", count, spec, ctx.log)


def _record_writers(result: ScenarioResult, one: OpResult, many: OpResult, count: int) -> None:
    """Rows ``one`` and ``many`` (from the go to the last commit), their finalize, and more."""
    files = int(one.data["files"])
    result.row("one", f"dataver: 1 writer, {files:,} files", files=files).add(
        one.seconds, one.peak_rss_kib
    )
    result.row("many", f"dataver: {count} writers at once, the same files", files=files).add(
        many.seconds, many.peak_rss_kib
    )
    slowest = max(float(w["seconds"]) for w in many.data["writers"])
    result.row("many_slowest", "  of which the slowest writer's own add_files call").add(slowest)
    result.row("finalize_one", "dataver: finalize after 1 writer").add(float(one.data["finalize"]))
    result.row("finalize_many", f"dataver: finalize after {count} writers").add(
        float(many.data["finalize"])
    )
    result.row("one_wall", "dataver, 1 writer: whole operation (processes, writer, finalize)").add(
        one.wall, one.peak_rss_kib
    )
    result.row("many_wall", f"dataver, {count} writers: the same").add(many.wall, many.peak_rss_kib)


def _writers_notes(result: ScenarioResult, count: int, each: int) -> list[str]:
    """What the rows measure, and the medians as aggregate files per second."""
    notes = [
        "Each measurement is a fresh process that creates the version, starts one process per "
        "writer (benchmarks/writer_worker.py: `Registry(url).get(id, states=None)`, then "
        "`ds.add_files(folder, dataset_path=..., writer=...)`, the writer's whole "
        "contribution: scan, hash, upload, change sets, commit), waits until every writer "
        "has imported dataver and opened the version, then gives them the go at once. The "
        "writers' row runs from the go until the last writer reported its commit (the "
        "processes' exits are not timed); finalize, in the same parent process after them, "
        "is timed apart. "
        f"Writer k adds folder `p<k>` ({each:,} files) as `p<k>`; the single writer adds "
        f"the folder holding all {count} in one call (the same paths and bytes; no two "
        "folders share content). Every writer has its own empty cache folder "
        "(as on separate machines): every file is read and hashed. Peak RSS: the largest "
        "process of the measurement (the parent or one writer).",
    ]
    one, many = result.rows.get("one"), result.rows.get("many")
    if one is not None and many is not None and one.samples and many.samples:
        files = one.files or 0
        notes.append(
            f"Aggregate throughput (medians): 1 writer {files / one.median:,.0f} files/s, "
            f"{count} writers {files / many.median:,.0f} files/s: "
            f"{one.median / many.median:.2f}x."
        )
    return notes


def finalize_1m(ctx: Context) -> ScenarioResult:
    """finalize of a version that many writers contributed a million files to."""
    s = ctx.sizes
    files, count = s.finalize_files, s.finalize_writers
    title = (
        f"Finalize of {files:,} files contributed by {count} writers (synthetic "
        "contributions, local registry)"
    )
    result = ScenarioResult("finalize-1m", title, reference=None)
    for index in range(ctx.runs):
        with ctx.fresh("finalize-1m", index) as root:
            registry = _fresh_registry(root)
            setup = registry.synthetic_writers("finalize-1m", count, files, root / "seed")
            result.row("setup", "setup: the writers' contributions, written directly").add(
                setup.seconds, setup.peak_rss_kib
            )
            done = registry.finalize(setup.data["id"], files)
            label = f"dataver: finalize ({count} writers gathered, merged, sealed)"
            result.row("finalize", label, files=files).add(done.seconds, done.peak_rss_kib)
            result.row("finalize_cpu", "  its CPU time (process_time)").add(float(done.data["cpu"]))
            result.row("finalize_wall", "dataver: the same, whole process").add(
                done.wall, done.peak_rss_kib
            )
    result.notes.append(
        f"Setup (untimed for the targets): a seed version of 64 real 4 KiB files (one pack) "
        f"in a fresh local registry, then an Uploading version whose {count} writers each "
        f"committed 1/{count} of the {files:,} files the way the SDK stores a contribution "
        "(writer record started, change sets of 2,048 located entries in path order, commit; "
        "benchmarks/worker.py, writers_synthetic): entries p<k>/d<i/1000>/f<i>.bin of 4 KiB "
        "pointing into the seed's pack, with made-up distinct hashes (finalize checks that "
        "the pack exists, not the bytes). Then a fresh process opens the version and times "
        "`finalize()` alone: gathering the writer records, the streaming merge of every "
        "change set into the manifest, the stats (a diff against the empty base) and the "
        "record swap. Peak RSS: that whole process (interpreter and imports included)."
    )
    return result


SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {
    "small": small,
    "small100k": small100k,
    "large": large,
    "mixed": mixed,
    "child": child,
    "childmix": childmix,
    "rename": rename,
    "sync": sync,
    "get": get,
    "getone": getone,
    "manifest": manifest,
    "s3": s3,
    "clearml": clearml,
    "writers-s3": writers_s3,
    "writers-local": writers_local,
    "finalize-1m": finalize_1m,
    **CHUNK_SCENARIOS,
    **MEMORY_SCENARIOS,
    **REAL_SCENARIOS,
    **STARTUP_SCENARIOS,
}

GROUPS: dict[str, tuple[str, ...]] = {"realdata": tuple(REAL_SCENARIOS)}
"""Names ``--only`` accepts for several scenarios at once."""
