"""An incremental daily dataset: each day's version is the previous version plus that day.

Every run exports one day of events into a folder and versions it under ``days/<ds>/`` of
``examples/events``, on top of the newest Final version (``parents="latest"``). The new
version stores only the new day; the earlier days come from its parent, so version N holds
days 1..N and its lineage is the chain of days. ``depends_on_past`` keeps the days in order.

Needs a ``dataver_default`` connection (see docs/airflow.md). A run triggered by hand (no
logical date in Airflow 3) versions the day it was triggered (:data:`DAY`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, task

from dataver_airflow.operators import DataverVersionOperator

# Where the stand-in exports are written (a param: override it per run).
WORKDIR = str(Path(tempfile.gettempdir()) / "dataver-examples")
# The run's day: a scheduled run's logical date, or when a manual run was triggered (Airflow 3
# gives manual runs no logical date, so no `ds`).
DAY = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"

with DAG(
    "dataver_daily_increments",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={"workdir": Param(WORKDIR, type="string")},
    default_args={"depends_on_past": True},
    tags=["dataver", "example"],
) as daily_dag:

    @task
    def export_day(params: dict[str, Any], dag_run: Any = None) -> str:
        """Write the day's events (a stand-in for a real daily extract)."""
        ds = (dag_run.logical_date or dag_run.run_after).strftime("%Y-%m-%d")
        folder = Path(params["workdir"]) / "events" / ds
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{ds}T{hour:02d}:00:00Z,event-{hour}" for hour in range(24)]
        (folder / "events.csv").write_text("time,name\n" + "\n".join(lines) + "\n")
        return str(folder)

    DataverVersionOperator(
        task_id="append_day",
        name="events",
        project="examples",
        folder=export_day(),
        dataset_path=f"days/{DAY}",
        parents="latest",
        tags=["daily"],
        metadata={"day": DAY},
    )
