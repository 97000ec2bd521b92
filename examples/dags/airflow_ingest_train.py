"""Ingest, version, wait, train: a model trained on the exact dataset version a run produced.

1. ``ingest`` writes the day's raw points (a CSV) and their schema into a local folder;
2. ``version_points`` turns that folder into a new Final version of ``examples/points``
   (its parent: the previous version);
3. ``wait_until_final`` makes sure the version is Final (here it already is; the same sensor
   waits for versions built by other DAGs or teams);
4. ``fetch_points`` gets that very version into the local cache (by id, not "the latest");
5. ``train`` fits a line to it and records which version the model came from.

Needs a ``dataver_default`` connection (see docs/airflow.md). ``workdir`` (a param) is where
the raw exports go. Runs on its schedule and when triggered by hand (the UI's trigger button,
``airflow dags trigger dataver_ingest_train``): a manual run has no logical date in Airflow 3,
so the day it exports is the day it was triggered (:data:`DAY`).
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, task

from dataver_airflow.operators import DataverGetOperator, DataverVersionOperator
from dataver_airflow.sensors import DataverStateSensor

# The export's description: identical every day, so versions share its content.
SCHEMA = '{"columns": {"x": "input", "y": "target"}, "source": "stand-in extract"}\n'
# Where the stand-in exports are written (a param: override it per run).
WORKDIR = str(Path(tempfile.gettempdir()) / "dataver-examples")
# The run's day: a scheduled run's logical date, or when a manual run was triggered (Airflow 3
# gives manual runs no logical date, so no `ds`).
DAY = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"


def run_day(dag_run: Any) -> str:
    """:data:`DAY` in Python: ``YYYY-MM-DD`` of the logical date, else of ``run_after``."""
    return str((dag_run.logical_date or dag_run.run_after).strftime("%Y-%m-%d"))


with DAG(
    "dataver_ingest_train",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    params={"workdir": Param(WORKDIR, type="string")},
    tags=["dataver", "example"],
) as ingest_train_dag:

    @task
    def ingest(params: dict[str, Any], dag_run: Any = None) -> str:
        """Export the day's points: y = 2x + noise (a stand-in for a real extract)."""
        ds = run_day(dag_run)
        folder = Path(params["workdir"]) / "ingest" / ds
        folder.mkdir(parents=True, exist_ok=True)
        day = int(ds.replace("-", ""))  # the same day gives the same export
        with (folder / "points.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["x", "y"])
            writer.writerows((x, 2 * x + ((x * day) % 7 - 3) / 10) for x in range(100))
        # NOTE: the same every day: each new version stores only points.csv again.
        (folder / "schema.json").write_text(SCHEMA)
        return str(folder)

    points = DataverVersionOperator(
        task_id="version_points",
        name="points",
        project="examples",
        folder=ingest(),
        tags=["ingest"],
        metadata={"ingest_date": DAY},
    )

    ready = DataverStateSensor(
        task_id="wait_until_final",
        version_id=points.output,
        target_states=["final", "published"],
        mode="reschedule",
        poke_interval=60,
        timeout=3600,
    )

    fetch = DataverGetOperator(task_id="fetch_points", version_id=ready.output)

    @task
    def train(local_copy: str, version_id: str) -> dict[str, Any]:
        """Least-squares slope of y over x; the result names the version it was trained on."""
        with (Path(local_copy) / "points.csv").open(newline="") as rows:
            pairs = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(rows)]
        mean_x = sum(x for x, _ in pairs) / len(pairs)
        mean_y = sum(y for _, y in pairs) / len(pairs)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in pairs) / sum(
            (x - mean_x) ** 2 for x, _ in pairs
        )
        return {"dataset_version_id": version_id, "rows": len(pairs), "slope": round(slope, 3)}

    train(fetch.output, ready.output)
