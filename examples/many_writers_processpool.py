"""Many writers, one version, with the standard library: a process pool adds a folder's parts.

1. create one Uploading version;
2. ``dataver.partition`` splits the folder into ``--workers`` balanced parts (ranges of paths);
3. each process of a ``ProcessPoolExecutor`` adds one part as a writer of its own
   (``ds.add_files(folder, part=part, writer="part-<index>")``): its whole contribution is
   committed when the call returns, and the same call again (a retry) replaces it;
4. ``finalize`` merges every writer's contribution in one pass.

Run it with::

    python examples/many_writers_processpool.py --registry /tmp/registry \\
        --source /data/images --workers 4

Nothing here is specific to one machine: with an S3 registry, and a source every worker can
read, the same ``add_part`` runs on any number of machines (a batch job, a Kubernetes job
with an index, ...), and any of them may finalize once all are done.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import dataver

RETRIES = 1


def add_part(registry: str, version_id: str, source: str, part: dict[str, Any]) -> dict[str, Any]:
    """One worker: add the files of ``part`` to the version, as writer ``part-<index>``.

    The name is the part's, not the process's: a retry of the part, in any process, is the
    same writer and replaces what an earlier try committed.
    """
    writer = f"part-{part['index']}"
    with dataver.Registry(registry) as reg:
        ds = reg.get(version_id, states=None)
        files = ds.add_files(source, part=part, writer=writer)
    return {"writer": writer, "files": files}


def run(registry: str, source: str, workers: int, name: str, project: str) -> dataver.Dataset:
    """Build one version of ``project/name`` from ``source`` with ``workers`` processes."""
    # NOTE: split first: a missing or refused folder fails before a version exists.
    parts = [part.to_dict() for part in dataver.partition(source, workers)]
    ds = dataver.Registry(registry).create(name, project=project)
    # NOTE: spawn, not fork: a worker starts clean (no copy of this process's open files).
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending = {pool.submit(add_part, registry, ds.id, source, p): p for p in parts}
            for future, part in pending.items():
                for attempt in range(RETRIES + 1):
                    try:
                        done = future.result()
                        break
                    except Exception as exc:
                        if attempt == RETRIES:
                            raise
                        print(f"part {part['index']} failed ({exc}); retrying", file=sys.stderr)
                        future = pool.submit(add_part, registry, ds.id, source, part)
                print(f"  {done['writer']}: {done['files']} files")
        ds.finalize()
    except BaseException as exc:
        if ds.reload().state is dataver.State.UPLOADING:
            ds.fail(f"not built: {exc!r}")
        raise
    return ds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="registry URL or folder")
    parser.add_argument("--source", required=True, help="the folder to version")
    parser.add_argument("--workers", type=int, default=4, help="processes (and parts)")
    parser.add_argument("--name", default="many-writers", help="dataset name")
    parser.add_argument("--project", default="examples", help="dataset project")
    args = parser.parse_args(argv)

    started = time.monotonic()
    ds = run(args.registry, args.source, args.workers, args.name, args.project)
    seconds = time.monotonic() - started
    print(
        f"{ds.uri} ({ds.id}): {ds.state.value}, {ds.stats.files} files "
        f"from {args.workers} writers in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
