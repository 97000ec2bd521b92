"""A many-writers flow whose mapped task for part 1 fails once, after its writer committed.

Imported by name (this folder on ``sys.path``): Dask's worker processes unpickle the flow and
its tasks by module name, so they cannot live in a test module (pytest imports those with
``--import-mode=importlib``, under names no other process can import).

The first try of part 1 commits its contribution, writes the committed attempt to the flag
file and then fails; Prefect retries the task run (``retries=1``), whose writer name is the
same (``<task run name>/<task run id>``), so the second try replaces the first try's
contribution instead of adding a second one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect_dask import DaskTaskRunner

import dataver
from prefect import flow, task, unmapped
from prefect_dataver import (
    VersionInfo,
    add_files,
    create_version,
    finalize_version,
    partition_files,
)
from prefect_dataver._run import task_run_writer

FLAKY_PART = 1
# NOTE: any free port for the dashboard: 8787 may be taken (a warning, an error in tests).
CLUSTER = {"n_workers": 2, "processes": True, "threads_per_worker": 1, "dashboard_address": ":0"}


@task(name="add-part-failing-once", retries=1, retry_delay_seconds=0)
def add_part_failing_once(
    registry: str, version: VersionInfo, folder: str, part: dict[str, Any], flag: str
) -> VersionInfo:
    """``add_files`` of one part; the first try of part 1 fails after committing."""
    info = add_files.fn(registry, version, folder, part=part)
    marker = Path(flag)
    if part["index"] == FLAKY_PART and not marker.exists():
        name = task_run_writer()
        with dataver.Registry(registry) as reg:
            (mine,) = [w for w in reg.get(version.id, states=None).writers() if w.name == name]
        assert mine.committed is not None
        marker.write_text(f"{name}\n{mine.committed.attempt}\n")
        raise RuntimeError("simulated failure after the writer committed")
    return info


@flow(name="flaky-many-writers", task_runner=DaskTaskRunner(cluster_kwargs=CLUSTER))
def flaky_many_writers(registry: str, source: str, name: str, flag: str) -> dict[str, Any]:
    """Create, partition into 4, add each part (part 1 fails once), read the writers,
    finalize."""
    ds = create_version(registry, name)
    parts = partition_files(source, 4)
    added = add_part_failing_once.map(
        unmapped(registry), unmapped(ds), unmapped(source), parts, unmapped(flag)
    )
    added.result()
    with dataver.Registry(registry) as reg:
        writers = reg.get(ds.id, states=None).writers()
    seen = {
        w.name: {"files": w.committed.files, "attempt": w.committed.attempt}
        for w in writers
        if w.committed is not None
    }
    final = finalize_version(registry, ds, wait_for=added)
    return {"version": final, "writers": seen, "records": len(writers)}
