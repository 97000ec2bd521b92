"""One operation in its own process: ``python -m benchmarks.worker '<json>'``.

The orchestrator runs every dataver measurement (and the boto3 floors of the S3 scenario)
through this module so that each one starts from a fresh interpreter and its peak RSS can be
read with ``wait4``. The cache folder comes from ``DATAVER_CACHE_DIR``, set by the caller.
Prints one JSON object: ``seconds`` is the time of the measured operation alone (interpreter
start and imports excluded).

Operations:
    build    {"registry", "name", "folder", "parents"}: create, add_files, upload, finalize.
    sync     {"registry", "parent", "folder"}: create a child, time its sync_folder, abort it.
    get      {"registry", "id"}: time get_local_copy.
    rebuild  {"registry", "id"}: drop the cached tree of ``id`` and its marker (the blobs
             stay), then time get_local_copy, which rebuilds the tree from the cached blobs.
    stat     {"folder"}: time os.scandir + stat of every file under ``folder`` (the floor
             of any Python tool that must tell which files changed).

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
    from collections.abc import Callable


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Build a Final version of ``folder`` (with ``parents``); time every phase."""
    registry = dataver.Registry(spec["registry"])
    start = time.perf_counter()
    ds = registry.create(spec["name"], parents=spec.get("parents") or None)
    created = time.perf_counter()
    changed = ds.add_files(spec["folder"])
    added = time.perf_counter()
    stored = ds.upload()
    uploaded = time.perf_counter()
    ds.finalize()
    end = time.perf_counter()
    return {
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
    """Time ``get_local_copy`` of version ``id``."""
    registry = dataver.Registry(spec["registry"])
    ds = registry.get(spec["id"])
    start = time.perf_counter()
    path = ds.get_local_copy()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "path": str(path)}


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
    "rebuild": rebuild,
    "stat": stat_tree,
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
