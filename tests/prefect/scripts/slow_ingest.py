"""A flow that holds an Uploading version until a gate file appears: killed or cancelled runs.

``python slow_ingest.py run``: run ``tracked_ingest`` once, whose hooks are not told the
registry (the test sends SIGTERM: a crash; the hook finds the registry its tasks used).
``python slow_ingest.py serve``: serve ``slow_ingest`` as deployment ``slow-ingest/slow``
(the test cancels a run through the API; the runner kills it and runs ``on_cancellation``
in its own process: these hooks are not told the registry either, they read it from the
flow run's labels).

The registry is ``DATAVER_REGISTRY``; the gate file is ``SLOW_INGEST_GATE``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from prefect import flow, task
from prefect_dataver import VersionInfo, create_version, dataver_flow_hooks, finalize_version

REGISTRY = os.environ["DATAVER_REGISTRY"]
GATE = Path(os.environ["SLOW_INGEST_GATE"])


@task
def wait_for_gate(version: VersionInfo) -> VersionInfo:
    while not GATE.exists():
        time.sleep(0.1)
    return version


@flow(name="slow-ingest", **dataver_flow_hooks())
def slow_ingest() -> VersionInfo:
    ds = create_version(REGISTRY, "slow", project="hygiene")
    return finalize_version(REGISTRY, wait_for_gate(ds))


@flow(name="tracked-ingest", **dataver_flow_hooks())
def tracked_ingest(registry: str) -> VersionInfo:
    ds = create_version(registry, "slow", project="hygiene")
    return finalize_version(registry, wait_for_gate(ds))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        slow_ingest.serve(name="slow", limit=1)
    else:
        tracked_ingest(REGISTRY)
