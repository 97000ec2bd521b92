"""One operation in its own process: ``python -m benchmarks.worker '<json>'``.

The orchestrator runs every dataver measurement (and the boto3 floors of the S3 scenario)
through this module so that each one starts from a fresh interpreter and its peak RSS can be
read with ``wait4``. The cache folder comes from ``DATAVER_CACHE_DIR``, set by the caller.
Prints one JSON object: ``seconds`` is the time of the measured operation alone (interpreter
start and imports excluded).

Operations:
    build    {"registry", "name", "folder", "parents", "check_diff", "sync"}: create,
             add_files (sync_folder with ``sync``), upload, finalize; with ``check_diff``,
             then (untimed) the diff from the first parent, as counts.
    sync     {"registry", "parent", "folder"}: create a child, time its sync_folder, abort it.
    get      {"registry", "id", "paths"}: time get_local_copy (of the ``paths`` globs, if any).
    open     {"registry", "id", "path"}: time ``Dataset.open(path)`` and reading it to the end.
    rebuild  {"registry", "id"}: drop the cached tree of ``id`` and its marker (the blobs
             stay), then time get_local_copy, which rebuilds the tree from the cached blobs.
    stat     {"folder"}: time os.scandir + stat of every file under ``folder`` (the floor
             of any Python tool that must tell which files changed).

Synthetic manifests (no files: entries made up, written by the core's manifest writer):
    manifest_build  {"store", "entries", "changed"}: time write_manifest of ``entries`` entries
                    (``changed``: how many, seeded, get another hash) into a LocalStore.
    manifest_load   {"store", "ref"}: time decoding and iterating every entry of a manifest.
    manifest_diff   {"store", "old", "new"}: time diff_manifests of two manifests.

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

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from dataver.manifest import Entry


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Build a Final version of ``folder`` (with ``parents``); time every phase."""
    registry = dataver.Registry(spec["registry"])
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
        "files": ds.stats.files,
    }


def _counts(diff: Any) -> dict[str, int]:
    """How many paths a :class:`dataver.diff.Diff` lists of each kind."""
    kinds = ("added", "removed", "modified", "renamed")
    return {kind: len(getattr(diff, kind)) for kind in kinds}


def sync(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``sync_folder`` of ``folder`` into a new child of ``parent``."""
    registry = dataver.Registry(spec["registry"])
    child = registry.create(spec.get("name", "sync"), parents=[spec["parent"]])
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
    "rebuild": rebuild,
    "stat": stat_tree,
    "manifest_build": manifest_build,
    "manifest_load": manifest_load,
    "manifest_diff": manifest_diff,
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
