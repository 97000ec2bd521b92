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
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.peers import copy_tree, hash_tree
from benchmarks.s3 import DATAVER_PARTS, THREADS, Boto3Floor, MotoServer, bucket_name
from benchmarks.s3 import missing_modules as s3_missing_modules
from benchmarks.subject import OpResult, Registry
from benchmarks.timing import ScenarioResult, run, settle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

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
        """Delete every run folder; then, if ``pause``, let ext4 forget the deleted inodes."""
        if not self.runs_dir.exists():
            return
        shutil.rmtree(self.runs_dir)
        if pause and self.pause > 0:
            settle()
            self.log(f"deleted old run folders: pausing {self.pause:.0f} s (see scenarios.py)")
            time.sleep(self.pause)


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


def _full_version(ctx: Context, name: str, title: str, folder: Path) -> ScenarioResult:
    result = ScenarioResult(name, title, reference="dataver")
    for index in range(ctx.runs):
        with ctx.fresh(name, index) as root:
            op = _fresh_registry(root).build(folder, name)
            _record_build(result, op)
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
    for index in range(ctx.runs):
        with ctx.fresh("child", index) as root:
            registry = _fresh_registry(root)
            tree = root / "tree"
            run(["cp", "-r", str(data.small), str(tree)])
            parent = registry.build(tree, "child")
            result.row("full", "dataver: full version (the parent)").add(
                parent.seconds, parent.peak_rss_kib
            )
            for rel in data.changed:
                shutil.copyfile(data.child / rel, tree / rel)
            edited = registry.build(tree, "child", parents=[parent.data["id"]])
            _check_changed(edited, len(data.changed))
            result.row("inplace", "dataver: 1% child, files edited in place").add(
                edited.seconds, edited.peak_rss_kib
            )
            floor = registry.stat_tree(tree)
            result.row("stat", "floor: Python scandir + stat of every file").add(
                floor.seconds, floor.peak_rss_kib
            )
            separate = registry.build(data.child, "child", parents=[parent.data["id"]])
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
    return result


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
    op = _s3_registry(server, bucket, "reg", root / "cache-small").build(folder, "s3-small")
    _record_build(result, op, "dataver", ", small")
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
            "which also hashes."
        )
    return notes


SCENARIOS: dict[str, Callable[[Context], ScenarioResult]] = {
    "small": small,
    "large": large,
    "child": child,
    "sync": sync,
    "get": get,
    "s3": s3,
}
