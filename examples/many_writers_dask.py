"""Many writers, one version, on Dask: ``Client.map`` adds a folder's parts on a cluster.

1. create one Uploading version;
2. ``dataver.partition`` splits the folder into ``--workers`` balanced parts (ranges of paths);
3. ``client.map(add_part, ...)`` runs one Dask task per part (``retries=1``): each adds its
   part as writer ``part-<index>`` and commits it when it returns; a retried task, on the
   same or another worker, is the same writer and replaces what the failed try committed;
4. ``finalize`` merges every writer's contribution in one pass.

Run it with::

    python examples/many_writers_dask.py --registry /tmp/registry \\
        --source /data/images --workers 4

It starts a ``LocalCluster`` of ``--workers`` processes (needs ``dask[distributed]``); pass
``--scheduler tcp://host:8786`` to use a running cluster instead, with an S3 registry and a
source every worker can read.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from typing import Any

from dask.distributed import Client, LocalCluster

import dataver


def add_part(registry: str, version_id: str, source: str, part: dict[str, Any]) -> dict[str, Any]:
    """One Dask task: add the files of ``part`` to the version, as writer ``part-<index>``."""
    writer = f"part-{part['index']}"
    with dataver.Registry(registry) as reg:
        ds = reg.get(version_id, states=None)
        files = ds.add_files(source, part=part, writer=writer)
    return {"writer": writer, "files": files}


def run(
    registry: str,
    source: str,
    workers: int,
    name: str,
    project: str,
    scheduler: str | None = None,
) -> dataver.Dataset:
    """Build one version of ``project/name`` from ``source`` with ``workers`` Dask tasks."""
    # NOTE: split first: a missing or refused folder fails before a version exists.
    parts = [part.to_dict() for part in dataver.partition(source, workers)]
    ds = dataver.Registry(registry).create(name, project=project)
    try:
        with ExitStack() as stack:
            if scheduler is None:
                cluster = stack.enter_context(
                    LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
                )
                scheduler = cluster.scheduler_address
            client = stack.enter_context(Client(scheduler))
            futures = client.map(
                add_part,
                [registry] * len(parts),
                [ds.id] * len(parts),
                [source] * len(parts),
                parts,
                retries=1,
            )
            for done in client.gather(futures):
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
    parser.add_argument("--workers", type=int, default=4, help="worker processes (and parts)")
    parser.add_argument("--name", default="many-writers", help="dataset name")
    parser.add_argument("--project", default="examples", help="dataset project")
    parser.add_argument("--scheduler", help="a running cluster's scheduler address")
    args = parser.parse_args(argv)

    started = time.monotonic()
    ds = run(args.registry, args.source, args.workers, args.name, args.project, args.scheduler)
    seconds = time.monotonic() - started
    print(
        f"{ds.uri} ({ds.id}): {ds.state.value}, {ds.stats.files} files "
        f"from {args.workers} writers in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
