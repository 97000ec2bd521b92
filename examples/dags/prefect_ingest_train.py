"""Ingest, version, wait, train: a model trained on the exact dataset version a run produced.

1. ``ingest`` writes the day's raw points (a CSV) and their schema into a local folder;
2. ``version_folder`` turns that folder into a new version of ``examples/points`` (its
   parent: the previous version) and publishes it; re-running a day whose export did not
   change returns the same version instead of an empty child;
3. ``wait_for_version`` makes sure the version is Final/Published (here it already is; the
   same task waits for versions other flows or teams build);
4. ``get_local_copy`` gets that very version into the local cache (by id, not "the latest");
5. ``train`` fits a line to it and records which version the model came from.

Run it with ``python examples/dags/prefect_ingest_train.py [registry URL]`` (default:
``DATAVER_REGISTRY``, else a folder under the temporary directory). A crash of the flow run
aborts the version it was building (``dataver_flow_hooks``).
"""

# NOTE: no ``from __future__ import annotations``: a served flow reaches its run's process
# pickled by value, with only the globals its body uses, and Prefect then resolves the
# parameters' annotations there (``DataverRegistry | str`` as a string would not resolve).
import csv
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from prefect.flows import flow
from prefect.tasks import task

from prefect_dataver import (
    DataverRegistry,
    VersionInfo,
    dataver_flow_hooks,
    get_local_copy,
    version_folder,
    wait_for_version,
)

WORKDIR = str(Path(tempfile.gettempdir()) / "dataver-examples")
# The export's description: identical every day, so versions share its content.
SCHEMA = '{"columns": {"x": "input", "y": "target"}, "source": "stand-in extract"}\n'
REGISTRY = os.environ.get("DATAVER_REGISTRY") or str(Path(WORKDIR) / "registry")


@task
def ingest(workdir: str, day: str) -> str:
    """Export the day's points: y = 2x + noise (a stand-in for a real extract)."""
    folder = Path(workdir) / "ingest" / day
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "points.csv"
    schema = folder / "schema.json"
    if not schema.exists():  # NOTE: the same every day: versions share its content
        schema.write_text(SCHEMA)
    if target.exists():
        return str(folder)  # NOTE: the same day gives the same export, untouched
    seed = int(day.replace("-", ""))
    with target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["x", "y"])
        writer.writerows((x, 2 * x + ((x * seed) % 7 - 3) / 10) for x in range(100))
    return str(folder)


@task
def train(local_copy: str, version: VersionInfo) -> dict[str, Any]:
    """Least-squares slope of y over x; the result names the version it was trained on."""
    with (Path(local_copy) / "points.csv").open(newline="") as rows:
        pairs = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(rows)]
    mean_x = sum(x for x, _ in pairs) / len(pairs)
    mean_y = sum(y for _, y in pairs) / len(pairs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in pairs) / sum(
        (x - mean_x) ** 2 for x, _ in pairs
    )
    return {
        "dataset_version_id": version.id,
        "dataset_uri": version.uri,
        "rows": len(pairs),
        "slope": round(slope, 3),
    }


@flow(name="dataver-ingest-train", **dataver_flow_hooks())
def ingest_train(
    registry: DataverRegistry | str = REGISTRY,
    workdir: str = WORKDIR,
    day: str | None = None,
    publish: bool = True,
) -> dict[str, Any]:
    """Ingest a day's points, version them, wait until the version is ready, train on it.

    Args:
        registry: A ``DataverRegistry`` block or a registry URL.
        workdir: Where the raw exports go.
        day: The day to ingest (``YYYY-MM-DD``; default today).
        publish: Publish the version (consumers can trigger on ``dataver.version.published``).

    Returns:
        The model summary, naming the dataset version it was trained on.
    """
    day = day or dt.date.today().isoformat()
    folder = ingest(workdir, day)
    points = version_folder(
        registry,
        "points",
        "examples",
        folder,
        tags=["ingest"],
        metadata={"ingest_date": day},
        publish=publish,
    )
    ready = wait_for_version(registry, points, timeout_seconds=3600, poll_seconds=5)
    return train(get_local_copy(registry, ready), ready)


if __name__ == "__main__":
    print(ingest_train(*sys.argv[1:2]))
