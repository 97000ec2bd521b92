"""Many workers, one version: a folder's files added by several Dask worker processes at once.

1. ``create_version`` makes one Uploading version of ``examples/shards``;
2. ``partition_files`` splits the source folder into ``num_parts`` balanced parts (ranges of
   paths, passed as plain dicts);
3. ``add_files.map(..., part=parts)`` runs one task run per part on a ``DaskTaskRunner``
   (a local cluster of 2 worker processes): each adds its share of the files as a writer of
   its own, and commits it as a whole when it ends (a retry replaces its own contribution);
4. ``finalize_version`` merges every writer's contribution in one pass, then
   ``publish_version`` publishes the version.

The flow returns the published version and what each writer contributed (files per writer,
read before finalize: a Final version keeps no writer records).

Run it with ``python examples/dags/prefect_many_writers.py SOURCE [REGISTRY]`` (registry
default: ``DATAVER_REGISTRY``, else a folder under the temporary directory). It needs
``prefect-dask`` (``pip install prefect-dask``). On a real cluster, pass
``DaskTaskRunner(address="tcp://scheduler:8786")`` instead, an S3 registry, and a source
every worker can read (a shared folder, or ``s3://`` with ``add_external_files``).
"""

# NOTE: no ``from __future__ import annotations`` (see prefect_ingest_train.py): Prefect
# resolves the parameters' annotations where the flow runs.
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from prefect_dask import DaskTaskRunner

import dataver
from prefect import flow, unmapped
from prefect_dataver import (
    add_files,
    create_version,
    dataver_flow_hooks,
    finalize_version,
    partition_files,
    publish_version,
)

REGISTRY = os.environ.get("DATAVER_REGISTRY") or str(
    Path(tempfile.gettempdir()) / "dataver-examples" / "registry"
)
# NOTE: processes, not threads: each part is hashed and stored by a process of its own.
CLUSTER = {"n_workers": 2, "processes": True, "threads_per_worker": 1}


@flow(
    name="dataver-many-writers",
    task_runner=DaskTaskRunner(cluster_kwargs=CLUSTER),
    **dataver_flow_hooks(),
)
def many_writers(
    registry: str,
    source: str,
    name: str = "shards",
    project: str = "examples",
    num_parts: int = 4,
) -> dict[str, Any]:
    """Version ``source`` as one new version of ``project/name``, ``num_parts`` writers at once."""
    ds = create_version(registry, name, project=project)
    parts = partition_files(source, num_parts)
    # NOTE: unmapped(): only the parts are spread over the task runs.
    added = add_files.map(unmapped(registry), unmapped(ds), unmapped(source), part=parts)
    added.result()  # NOTE: raises the first failure (that task run failed the version)
    contributions = writer_files(registry, ds.id)
    final = finalize_version(registry, ds, wait_for=added)
    published = publish_version(registry, final)
    return {"version": published, "writers": contributions}


def writer_files(registry: str, version_id: str) -> dict[str, int]:
    """Files each writer of an Uploading version committed (``Dataset.writers()``)."""
    with dataver.Registry(registry) as reg:
        writers = reg.get(version_id, states=None).writers()
    return {w.name: w.committed.files for w in writers if w.committed is not None}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: prefect_many_writers.py SOURCE [REGISTRY]")
    done = many_writers(sys.argv[2] if len(sys.argv) > 2 else REGISTRY, sys.argv[1])
    version = done["version"]
    print(f"{version.uri}: {version.stats['files']} files from {len(done['writers'])} writers")
    for writer, files in sorted(done["writers"].items()):
        print(f"  {files:6d} files  {writer}")
