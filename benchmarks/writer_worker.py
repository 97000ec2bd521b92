"""One writer of many: ``python -m benchmarks.writer_worker '<json>'``.

Started by the ``writers`` operation of :mod:`benchmarks.worker`, several at once. Opens
the Uploading version ``id`` of ``registry`` (dataver imported, the registry read), prints
``ready``, waits for a line on stdin (the go, sent to every writer at once), then adds
``folder`` under ``dataset_path`` as writer ``writer`` (the writer's whole contribution:
scan, hash, upload, change sets, commit) and prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import time

import dataver


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    ds = dataver.Registry(spec["registry"]).get(spec["id"], states=None)
    print("ready", flush=True)
    if not sys.stdin.readline():
        return 1  # NOTE: the parent gave up before the go
    start = time.perf_counter()
    added = ds.add_files(spec["folder"], dataset_path=spec["dataset_path"], writer=spec["writer"])
    seconds = time.perf_counter() - start
    print(json.dumps({"writer": spec["writer"], "seconds": seconds, "added": added}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
