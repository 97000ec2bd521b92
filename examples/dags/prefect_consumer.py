"""An event-triggered consumer: a deployment that runs for every published points version.

``version_folder(..., publish=True)`` (see ``prefect_ingest_train.py``) emits
``dataver.version.published`` with the version as its resource (``dataver.version.<id>``)
and the dataset, version id and registry URL as labels. The deployment's
``DeploymentEventTrigger`` matches that event for dataset ``examples/points`` and passes the
version id and registry to the flow, which reads exactly that version.

Serve it with ``python examples/dags/prefect_consumer.py`` (a Prefect server must be
running: Prefect's triggers are evaluated by the server). S3 credentials for the registry
come from the serving machine's environment (the event carries only the registry URL).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from prefect.events import DeploymentEventTrigger
from prefect.flows import flow
from prefect.tasks import task

from prefect_dataver import VersionInfo, get_local_copy, wait_for_version

NEW_POINTS = DeploymentEventTrigger(
    name="new examples/points version",
    expect={"dataver.version.published"},
    match={
        "prefect.resource.id": "dataver.version.*",
        "dataver.project": "examples",
        "dataver.name": "points",
    },
    parameters={
        "version_id": "{{ event.resource['dataver.version.id'] }}",
        "registry": "{{ event.resource['dataver.registry'] }}",
    },
)


@task
def profile(local_copy: str, version: VersionInfo) -> dict[str, Any]:
    """Row count and value ranges of the version's points."""
    with (Path(local_copy) / "points.csv").open(newline="") as rows:
        ys = [float(r["y"]) for r in csv.DictReader(rows)]
    return {
        "dataset_version_id": version.id,
        "dataset_uri": version.uri,
        "rows": len(ys),
        "y_min": min(ys),
        "y_max": max(ys),
    }


@flow(name="dataver-profile-new-points")
def profile_new_points(version_id: str, registry: str) -> dict[str, Any]:
    """Profile the published version the triggering event named.

    Args:
        version_id: The version (from the event's ``dataver.version.id`` label).
        registry: The registry URL (from the event's ``dataver.registry`` label).

    Returns:
        The profile, naming the version.
    """
    ready = wait_for_version(registry, version_id, timeout_seconds=600)
    return profile(get_local_copy(registry, ready), ready)


if __name__ == "__main__":
    profile_new_points.serve(name="on-new-points", triggers=[NEW_POINTS])
