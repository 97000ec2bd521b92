"""One dataver operation in its own process: ``python -m benchmarks.worker '<json>'``.

The orchestrator runs every dataver measurement through this module so that each one starts
from a fresh interpreter and its peak RSS can be read with ``wait4``. The cache folder comes
from ``DATAVER_CACHE_DIR``, set by the caller. Prints one JSON object: ``seconds`` is the time
of the measured operation alone (interpreter start and imports excluded).

Operations:
    build    {"registry", "name", "folder", "parents"}: create, add_files, upload, finalize.
    sync     {"registry", "parent", "folder"}: create a child, time its sync_folder, abort it.
    get      {"registry", "id"}: time get_local_copy.
    rebuild  {"registry", "id"}: drop the cached tree of ``id`` and its marker (the blobs
             stay), then time get_local_copy, which rebuilds the tree from the cached blobs.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import dataver


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


OPERATIONS = {"build": build, "sync": sync, "get": get, "rebuild": rebuild}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    result = OPERATIONS[spec["op"]](spec)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
