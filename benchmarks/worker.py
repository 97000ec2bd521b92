"""One operation in its own process: ``python -m benchmarks.worker '<json>'``.

The orchestrator runs every dataver measurement (and the boto3 floors of the S3 scenario)
through this module so that each one starts from a fresh interpreter and its peak RSS can be
read with ``wait4``. The cache folder comes from ``DATAVER_CACHE_DIR``, set by the caller.
Prints one JSON object: ``seconds`` is the time of the measured operation alone (interpreter
start and imports excluded).

Operations:
    build    {"registry", "name", "folder", "parents", "check_diff", "sync", "count_io"}:
             create, add_files (sync_folder with ``sync``), upload, finalize; with
             ``check_diff``, then (untimed) the diff from the first parent, as counts; with
             ``count_io``, every call of the registry's store counted (see :func:`count_io`).
    sync     {"registry", "parent", "folder", "forget"}: create a child, time its sync_folder,
             abort it; with ``forget``, the folder's last sync is forgotten first.
    get      {"registry", "id", "paths"}: time get_local_copy (of the ``paths`` globs, if any).
    open     {"registry", "id", "path"}: time ``Dataset.open(path)`` and reading it to the end.
    open_range  {"registry", "id", "path", "offset", "length"}: time ``Dataset.open(path)``,
             a seek to ``offset`` and a read of ``length`` bytes, counting what the
             registry's store was asked for (:func:`count_io`).
    rebuild  {"registry", "id"}: drop the cached tree of ``id`` and its marker (the blobs
             stay), then time get_local_copy, which rebuilds the tree from the cached blobs.
    stat     {"folder"}: time os.scandir + stat of every file under ``folder`` (the floor
             of any Python tool that must tell which files changed).
    diff     {"registry", "id", "other"}: time ``diff(other)`` of version ``id``; counts.
    list     {"registry", "id", "how"}: time reading every path of ``id``: ``list_files``
             (the list the API returns) or ``entries`` (iterating the entries); ``none``
             opens the version only (the baseline of a process that reads it).
    fsck     {"registry"}: time ``Registry.fsck()`` (a check, no repair).

Synthetic manifests (no files: entries made up, written by the core's manifest writer):
    manifest_build  {"store", "entries", "changed"}: time write_manifest of ``entries`` entries
                    (``changed``: how many, seeded, get another hash) into a LocalStore.
    manifest_load   {"store", "ref"}: time decoding and iterating every entry of a manifest.
    manifest_diff   {"store", "old", "new"}: time diff_manifests of two manifests.

Many writers building one version (issue 21):
    writers            {"registry", "name", "files", "writers": [{"writer", "folder",
                       "dataset_path"}]}: create a version, start one process per writer
                       (:mod:`benchmarks.writer_worker`, each with its own cache folder under
                       ``DATAVER_CACHE_DIR``), wait until every one is ready, then time from
                       the go to the last commit; then time ``finalize``. ``files``: how many
                       the Final version must hold.
    writers_synthetic  {"registry", "name", "writers", "files", "seed_folder"}: an Uploading
                       version with ``writers`` committed contributions of ``files`` files in
                       all, made without files (see :func:`writers_synthetic`); untimed setup.
    finalize           {"registry", "id", "files"}: time ``finalize`` of an Uploading version.

boto3 floors (the endpoint and credentials come from the ``AWS_*`` variables):
    put_each        {"bucket", "prefix", "folder", "threads"}: one put_object per file, from
                    ``threads`` threads; each thread reads its file.
    upload_files    {"bucket", "prefix", "folder", "threads", "parts"}: upload_file of each
                    file in turn, TransferConfig(max_concurrency=threads).
    download_files  {"bucket", "prefix", "target", "threads", "parts"}: download_file of every
                    object under ``prefix`` in turn, the same TransferConfig.
    ``parts``: [multipart threshold, part size], or null for boto3's defaults.
The boto3 client is made, and the files listed, before the timer starts (as dataver's
Registry and its client are made before the build's timer).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import IO

    from dataver.manifest import Entry

WRITER_READY_TIMEOUT = 300.0
"""Seconds for every writer process to import dataver and open the version."""
WRITER_TIMEOUT = 6 * 3600.0
"""Seconds for a writer to add its files, store them and commit."""


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Build a Final version of ``folder`` (with ``parents``); time every phase."""
    registry = dataver.Registry(spec["registry"])
    io = count_io(registry.store) if spec.get("count_io") else None
    start = time.perf_counter()
    ds = registry.create(spec["name"], parents=spec.get("parents") or None)
    created = time.perf_counter()
    add = ds.sync_folder if spec.get("sync") else ds.add_files
    changed = add(spec["folder"])
    added = time.perf_counter()
    stored = ds.upload()
    uploaded = time.perf_counter()
    ds.finalize()
    end = time.perf_counter()
    diff = ds.diff(spec["parents"][0]) if spec.get("check_diff") else None
    return {
        "diff": None if diff is None else _counts(diff),
        "id": ds.id,
        "seconds": end - start,
        "phases": {
            "create": created - start,
            "add_files": added - created,
            "upload": uploaded - added,
            "finalize": end - uploaded,
        },
        "changed": changed,
        "stored_bytes": stored,
        "stats_stored_bytes": ds.stats.stored_bytes,
        "logical_bytes": ds.stats.logical_bytes,
        "files": ds.stats.files,
        "io": io,
    }


_WRITES = ("write", "create", "replace", "put_file")
_READS = ("read", "read_range", "read_with_token", "get_file")


def count_io(store: Any) -> dict[str, list[int]]:
    """Count every call of ``store``'s reads and writes, by method: ``[calls, bytes]``.

    The methods of this one store object are wrapped (its instance attributes), in this
    benchmark process only; the core is unchanged. Bytes: the data written (``put_file``:
    the local file's size), the bytes answered (``get_file``: the local file's size after).
    ``local_path`` is counted too: a reader that opened the registry's files directly would
    bypass the counted methods, and the count says whether that happened.
    """
    counts: dict[str, list[int]] = {}
    lock = threading.Lock()

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            size = _io_bytes(name, args, result)
            with lock:
                seen = counts.setdefault(name, [0, 0])
                seen[0] += 1
                seen[1] += size
            return result

        return counted

    for name in (*_WRITES, *_READS, "local_path"):
        setattr(store, name, wrap(name, getattr(store, name)))
    return counts


def _io_bytes(name: str, args: tuple[Any, ...], result: Any) -> int:
    """The bytes one store call moved (see :func:`count_io`)."""
    if name in ("write", "create", "replace"):
        return len(args[1])
    if name == "put_file":
        return os.path.getsize(args[0])
    if name == "get_file":
        return os.path.getsize(args[1])
    if name == "read_with_token":
        return len(result[0])
    if name in ("read", "read_range"):
        return len(result)
    return 0


def _counts(diff: Any) -> dict[str, int]:
    """How many paths a :class:`dataver.diff.Diff` lists of each kind."""
    kinds = ("added", "removed", "modified", "renamed")
    return {kind: len(getattr(diff, kind)) for kind in kinds}


def sync(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``sync_folder`` of ``folder`` into a new child of ``parent``."""
    registry = dataver.Registry(spec["registry"])
    child = registry.create(spec.get("name", "sync"), parents=[spec["parent"]])
    if spec.get("forget"):
        # NOTE: a listing no walk gives: the no-change fast path cannot apply, every file is
        # compared with the manifest (the stat cache still vouches for their hashes).
        folder = os.path.abspath(spec["folder"])
        cache = child._backend.stat_cache
        cache.remember_sync(folder, "", child.record.hash_algorithm, "forgotten", [])
    start = time.perf_counter()
    counts = child.sync_folder(spec["folder"])
    seconds = time.perf_counter() - start
    child.abort("benchmark")
    return {"seconds": seconds, "counts": list(counts)}


def get(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``get_local_copy`` of version ``id`` (only the ``paths`` globs, if given)."""
    registry = dataver.Registry(spec["registry"])
    ds = registry.get(spec["id"])
    start = time.perf_counter()
    path = ds.get_local_copy(paths=spec.get("paths") or None)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "path": str(path)}


def open_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``Dataset.open(path)`` of version ``id`` and reading the file to its end."""
    registry = dataver.Registry(spec["registry"])
    ds = registry.get(spec["id"])
    start = time.perf_counter()
    size = 0
    with ds.open(spec["path"]) as handle:
        while chunk := handle.read(4 << 20):
            size += len(chunk)
    return {"seconds": time.perf_counter() - start, "bytes": size}


def open_range(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``Dataset.open(path)``, a seek to ``offset`` and one read of ``length`` bytes.

    Every read of the registry's store is counted from the moment the version is opened
    (its record and manifest reads included, as ``io``); ``read`` holds what the file
    object returned, so the caller can check it against the source file.
    """
    registry = dataver.Registry(spec["registry"])
    io = count_io(registry.store)
    ds = registry.get(spec["id"])
    before = {name: list(seen) for name, seen in io.items()}
    start = time.perf_counter()
    with ds.open(spec["path"]) as handle:
        handle.seek(spec["offset"])
        got = handle.read(spec["length"])
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "io": io,
        "io_before_open": before,
        "bytes": len(got),
        "sha256": hashlib.sha256(got).hexdigest(),
    }


def rebuild(spec: dict[str, Any]) -> dict[str, Any]:
    """Drop the tree of version ``id`` from the cache, then time its ``get_local_copy``.

    Only the tree and its marker go (``Cache.drop``); the blobs stay, so the get rebuilds the
    tree from them. The drop happens before the timer starts.
    """
    registry = dataver.Registry(spec["registry"])
    ds = registry.get(spec["id"])
    dataver.Cache().drop(spec["id"])
    start = time.perf_counter()
    path = ds.get_local_copy()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "path": str(path)}


def diff(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``diff(other)`` of version ``id``: what changed from ``other`` to it."""
    ds = dataver.Registry(spec["registry"]).get(spec["id"])
    start = time.perf_counter()
    found = ds.diff(spec["other"])
    return {"seconds": time.perf_counter() - start, "diff": _counts(found)}


def list_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """Time reading every path of version ``id`` (``how``: list_files or entries)."""
    ds = dataver.Registry(spec["registry"]).get(spec["id"])
    start = time.perf_counter()
    if spec["how"] == "list_files":
        files = len(ds.list_files())
    elif spec["how"] == "entries":
        files = sum(1 for _ in ds.entries())
    else:
        files = 0
    return {"seconds": time.perf_counter() - start, "files": files}


def fsck(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``fsck`` of the registry (checked only); it must find no problem."""
    registry = dataver.Registry(spec["registry"])
    start = time.perf_counter()
    report = registry.fsck()
    seconds = time.perf_counter() - start
    if report.problems:
        raise RuntimeError(f"fsck found problems: {report.problems[:3]}")
    return {"seconds": seconds, "entries": report.entries}


def stat_tree(spec: dict[str, Any]) -> dict[str, Any]:
    """Time listing and stat-ing every file under ``folder``, keeping (name, size, mtime, inode)."""
    start = time.perf_counter()
    found: list[tuple[str, int, int, int]] = []
    stack = [spec["folder"]]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for item in entries:
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
                elif item.is_file():
                    st = item.stat()
                    found.append((item.path, st.st_size, st.st_mtime_ns, st.st_ino))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": len(found)}


def manifest_build(spec: dict[str, Any]) -> dict[str, Any]:
    """Time writing a manifest of ``entries`` synthetic entries (see :func:`synthetic_entries`).

    The entries are made while the writer consumes them (streamed, as a real build's scan
    yields them); ``entries_seconds`` is the time to make them alone, measured first.
    """
    from dataver.manifest import write_manifest
    from dataver.storage.local import LocalStore

    store = LocalStore(spec["store"])
    made = time.perf_counter()
    for _ in synthetic_entries(spec["entries"], spec.get("changed", 0)):
        pass
    made = time.perf_counter() - made
    entries = synthetic_entries(spec["entries"], spec.get("changed", 0))
    start, cpu = time.perf_counter(), time.process_time()
    ref = write_manifest(store, "blake3", entries)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "entries_seconds": made, "ref": ref}


def synthetic_entries(count: int, changed: int = 0) -> Iterator[Entry]:
    """``count`` entries in path order, like packed 4 KiB files, 1,000 to a folder.

    Hashes are SHA-256 of the index (of ``index:changed`` for the ``changed`` entries picked
    by a seeded sample), so two manifests with different ``changed`` differ in that many
    entries, spread over every shard. 256 files share a pack, at increasing offsets.
    """
    import hashlib
    import random

    from dataver.manifest import Entry

    picked = set(random.Random(count).sample(range(count), changed))  # noqa: S311
    packs = [hashlib.sha256(f"pack{p}".encode()).hexdigest() for p in range(count // 256 + 1)]
    for index in range(count):
        key = f"{index}:changed" if index in picked else str(index)
        digest = hashlib.sha256(key.encode()).hexdigest()
        path = f"d{index // 1000:04d}/f{index:07d}.bin"
        yield Entry(path, 4096, digest, packs[index // 256], (index % 256) * 4096)


def manifest_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Time reading a whole manifest: decode and validate every shard, touch every entry."""
    from dataver.manifest import Manifest
    from dataver.storage.local import LocalStore

    manifest = Manifest(LocalStore(spec["store"]), spec["ref"])
    start, cpu = time.perf_counter(), time.process_time()
    files = total = 0
    for entry in manifest:
        files += 1
        total += entry.size
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "files": files, "bytes": total}


def manifest_diff(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``diff_manifests`` of two stored manifests."""
    from dataver.diff import diff_manifests
    from dataver.manifest import Manifest
    from dataver.storage.local import LocalStore

    store = LocalStore(spec["store"])
    old, new = Manifest(store, spec["old"]), Manifest(store, spec["new"])
    start, cpu = time.perf_counter(), time.process_time()
    found = diff_manifests(old, new)
    seconds = time.perf_counter() - start
    counts = [len(found.added), len(found.removed), len(found.modified), len(found.renamed)]
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "counts": counts}


def writers(spec: dict[str, Any]) -> dict[str, Any]:
    """Build one version with one process per writer, then finalize it; time both.

    Every writer process is started and must print ``ready`` (interpreter started, dataver
    imported, version opened) before the clock starts; then all get the go at once.
    ``seconds`` runs from the go until the last writer committed (its answer printed; the
    processes' exits are not timed).
    """
    registry = dataver.Registry(spec["registry"])
    ds = registry.create(spec["name"])
    cache = Path(os.environ.get("DATAVER_CACHE_DIR") or tempfile.mkdtemp())
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        procs = [
            _WriterProcess(stack, {"registry": spec["registry"], "id": ds.id, **one}, cache)
            for one in spec["writers"]
        ]
        deadline = time.monotonic() + WRITER_READY_TIMEOUT
        for proc in procs:
            proc.wait_ready(deadline)
        go = time.perf_counter()
        for proc in procs:
            proc.go()
        results = [proc.result() for proc in procs]
        done = time.perf_counter()
        for proc in procs:
            proc.end()
    ds.finalize()
    finalized = time.perf_counter()
    if ds.stats.files != spec["files"]:
        raise RuntimeError(f"the version holds {ds.stats.files} files, not {spec['files']}")
    return {
        "seconds": done - go,
        "finalize": finalized - done,
        "spawn": go - started,
        "files": ds.stats.files,
        "id": ds.id,
        "writers": results,
    }


class _WriterProcess:
    """One :mod:`benchmarks.writer_worker` process, with its own cache folder; its stderr
    goes to a temporary file (shown if it fails). Killed when ``stack`` closes."""

    def __init__(self, stack: contextlib.ExitStack, payload: dict[str, Any], cache: Path) -> None:
        err = tempfile.TemporaryFile()  # noqa: SIM115 - the stack closes it (next line)
        self._err = stack.enter_context(err)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.writer_worker", json.dumps(payload)],
            bufsize=0,  # NOTE: no read-ahead: select() sees every line still to be read
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env={**os.environ, "DATAVER_CACHE_DIR": str(cache / payload["writer"])},
        )
        stack.callback(self._kill)

    def wait_ready(self, deadline: float) -> None:
        """Wait for its ``ready`` line (until ``deadline``, a ``time.monotonic()`` value)."""
        line = self._line(deadline)
        if line.strip() != b"ready":
            self._proc.wait(timeout=30)
            raise RuntimeError(f"a writer failed to start ({line!r}):\n{self._tail()}")

    def go(self) -> None:
        stdin = self._pipe(self._proc.stdin)
        stdin.write(b"go\n")
        stdin.flush()

    def result(self) -> dict[str, Any]:
        """Wait for its answer, printed once it committed (not for its exit); return it."""
        line = self._line(time.monotonic() + WRITER_TIMEOUT)
        try:
            result: dict[str, Any] = json.loads(line)
        except ValueError:
            self._proc.wait(timeout=30)
            raise RuntimeError(f"a writer failed ({line!r}):\n{self._tail()}") from None
        return result

    def end(self) -> None:
        """Wait for it to exit (after its answer: not timed); it must exit with 0."""
        self._proc.communicate(timeout=60)
        if self._proc.returncode != 0:
            raise RuntimeError(f"a writer exited {self._proc.returncode}:\n{self._tail()}")

    def _line(self, deadline: float) -> bytes:
        """The next line it prints (b"" if it exits first)."""
        stdout = self._pipe(self._proc.stdout)
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(max(0.0, deadline - time.monotonic())):
                raise RuntimeError("a writer said nothing in time:\n" + self._tail())
        return stdout.readline()

    def _kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _tail(self) -> str:
        self._err.seek(0)
        return self._err.read().decode(errors="replace")[-3000:]

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        if pipe is None:
            raise RuntimeError("a writer process has no pipe")
        return pipe


def writers_synthetic(spec: dict[str, Any]) -> dict[str, Any]:
    """An Uploading version with ``writers`` committed contributions, made without files.

    A seed version of 64 real 4 KiB files (one pack) is built first. Each writer's
    contribution is then written as the SDK stores one (dataver.api.writer): its start,
    change sets of ``CHANGE_SET`` located entries in path order, its commit; the entries
    are ``p<k>/d<i // 1000>/f<i>.bin``, 4 KiB each, pointing into the seed's pack, with
    made-up distinct hashes (finalize checks that the pack exists, not the bytes).
    """
    from dataver.api.writer import CHANGE_SET
    from dataver.manifest import staged
    from dataver.ops import contribute
    from dataver.versions.records import Contribution, utcnow

    registry = dataver.Registry(spec["registry"])
    located = _seed_pack(registry, Path(spec["seed_folder"]))
    ds = registry.create(spec["name"])
    backend = ds._backend
    count, files = spec["writers"], spec["files"]
    start = time.perf_counter()
    for k in range(count):
        share = files // count + (1 if k < files % count else 0)
        attempt = contribute.start(backend, ds.id, f"w{k:02d}")
        refs = []
        for first in range(0, share, CHANGE_SET):
            entries = _located(k, range(first, min(share, first + CHANGE_SET)), located)
            ref = staged.write_changes(backend.store, {e.path: e for e in entries})
            if ref is None:
                raise RuntimeError("a synthetic change set was refused")
            refs.append(ref)
        contribution = Contribution(
            attempt=attempt.record.attempt or "",
            changes=tuple(refs),
            files=share,
            bytes=share * 4096,
            committed_at=utcnow(),
        )
        contribute.commit(backend.store, attempt, contribution)
    return {"seconds": time.perf_counter() - start, "id": ds.id, "files": files}


def _seed_pack(registry: Any, folder: Path) -> list[Entry]:
    """Build a version of 64 seeded 4 KiB files (one pack); return its entries."""
    import random

    from dataver.manifest.reader import Manifest

    rng = random.Random(21)  # noqa: S311 - test data
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(64):
        (folder / f"seed{i:02d}.bin").write_bytes(rng.randbytes(4096))
    seed = registry.create("seed")
    seed.add_files(folder)
    seed.finalize(auto_upload=True)
    record = seed.record
    entries = list(Manifest(seed._backend.store, record.manifest, record.hash_algorithm))
    if not entries or any(e.pack is None for e in entries):
        raise RuntimeError("the seed version's files were not packed")
    return entries


def _located(writer: int, indices: range, located: list[Entry]) -> list[Entry]:
    """Entries of writer ``writer``'s files ``indices``, each in a place of the real pack."""
    import hashlib

    from dataver.manifest import Entry

    out = []
    for i in indices:
        where = located[i % len(located)]
        digest = hashlib.sha256(f"{writer}:{i}".encode()).hexdigest()
        path = f"p{writer:02d}/d{i // 1000:04d}/f{i:07d}.bin"
        out.append(Entry(path, where.size, digest, where.pack, where.offset))
    return out


def finalize(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``finalize`` of the Uploading version ``id`` (its writers' work gathered)."""
    ds = dataver.Registry(spec["registry"]).get(spec["id"], states=None)
    start, cpu = time.perf_counter(), time.process_time()
    ds.finalize()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    if ds.stats.files != spec["files"]:
        raise RuntimeError(f"the version holds {ds.stats.files} files, not {spec['files']}")
    return {"seconds": seconds, "cpu": cpu, "files": ds.stats.files}


def put_each(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one ``put_object`` per file of ``folder``, from ``threads`` threads."""
    client, bucket = _s3_client(spec["threads"]), spec["bucket"]
    folder, prefix = Path(spec["folder"]), spec["prefix"]
    files = _files(folder)

    def put(rel: str) -> None:
        body = (folder / rel).read_bytes()
        client.put_object(Bucket=bucket, Key=f"{prefix}/{rel}", Body=body)

    start = time.perf_counter()
    with ThreadPoolExecutor(spec["threads"]) as pool:
        for _ in pool.map(put, files):
            pass
    return {"seconds": time.perf_counter() - start, "files": len(files)}


def upload_files(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``upload_file`` of each file of ``folder`` in turn (the transfer is parallel)."""
    client, bucket = _s3_client(spec["threads"]), spec["bucket"]
    folder, prefix = Path(spec["folder"]), spec["prefix"]
    config, files = _transfer(spec), _files(folder)
    start = time.perf_counter()
    for rel in files:
        client.upload_file(str(folder / rel), bucket, f"{prefix}/{rel}", Config=config)
    return {"seconds": time.perf_counter() - start, "files": len(files)}


def download_files(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``download_file`` of every object under ``prefix`` in turn, into ``target``."""
    client, bucket = _s3_client(spec["threads"]), spec["bucket"]
    prefix, target = spec["prefix"] + "/", Path(spec["target"])
    config, keys = _transfer(spec), _keys(client, bucket, prefix)
    start = time.perf_counter()
    for key in keys:
        local = target / key[len(prefix) :]
        local.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(local), Config=config)
    return {"seconds": time.perf_counter() - start, "files": len(keys)}


def _s3_client(threads: int) -> Any:
    """A boto3 S3 client from the ``AWS_*`` variables, with a connection per thread."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(max_pool_connections=max(10, threads)))


def _transfer(spec: dict[str, Any]) -> Any:
    from boto3.s3.transfer import TransferConfig

    parts = spec.get("parts")
    sizes = {} if not parts else {"multipart_threshold": parts[0], "multipart_chunksize": parts[1]}
    return TransferConfig(max_concurrency=spec["threads"], **sizes)


def _files(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted relative POSIX paths."""
    return sorted(
        (Path(parent) / name).relative_to(folder).as_posix()
        for parent, _, names in os.walk(folder)
        for name in names
    )


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` in ``bucket``."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [str(item["Key"]) for page in pages for item in page.get("Contents", [])]


OPERATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "build": build,
    "sync": sync,
    "get": get,
    "open": open_one,
    "open_range": open_range,
    "rebuild": rebuild,
    "stat": stat_tree,
    "diff": diff,
    "list": list_paths,
    "fsck": fsck,
    "manifest_build": manifest_build,
    "manifest_load": manifest_load,
    "manifest_diff": manifest_diff,
    "writers": writers,
    "writers_synthetic": writers_synthetic,
    "finalize": finalize,
    "put_each": put_each,
    "upload_files": upload_files,
    "download_files": download_files,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    result = OPERATIONS[spec["op"]](spec)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
