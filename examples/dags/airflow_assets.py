"""A producer DAG publishes dataset versions; a consumer DAG runs on every new version.

``dataver_features_producer`` builds and publishes a version of ``examples/features``. The
``DataverVersionOperator`` declares the dataset's asset, ``dataver://examples/features``, as
its outlet, so each published version is one asset event whose ``extra["payload"]`` says
which version it is (``id``, ``version``, ``state``, ``stats``, ...): the shape a
``DataverPublishedTrigger`` watcher's events have too.

``dataver_features_consumer`` is scheduled on that asset: Airflow runs it after each event.
It reads the version named by the newest event and gets exactly that version.

Needs a ``dataver_default`` connection (see docs/airflow.md). Both DAGs run when triggered by
hand too: a manual run has no logical date in Airflow 3, so its day is when it was triggered.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, Param, task
from airflow.sdk.exceptions import AirflowSkipException

from dataver_airflow.assets import asset_uri
from dataver_airflow.operators import DataverGetOperator, DataverVersionOperator

# Where the stand-in exports are written (a param: override it per run).
WORKDIR = str(Path(tempfile.gettempdir()) / "dataver-examples")
FEATURES = Asset(asset_uri("examples", "features"))  # Asset("dataver://examples/features")
_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

with DAG(
    "dataver_features_producer",
    schedule="@daily",
    start_date=_START,
    catchup=False,
    params={"workdir": Param(WORKDIR, type="string")},
    tags=["dataver", "example"],
) as producer_dag:

    @task
    def compute_features(params: dict[str, Any], dag_run: Any = None) -> str:
        """Write the day's feature table (a stand-in for a real feature job)."""
        ds = (dag_run.logical_date or dag_run.run_after).strftime("%Y-%m-%d")
        folder = Path(params["workdir"]) / "features" / ds
        folder.mkdir(parents=True, exist_ok=True)
        table = [{"user": u, "day": ds, "score": (u * 7) % 10} for u in range(20)]
        (folder / "features.json").write_text(json.dumps(table))
        return str(folder)

    DataverVersionOperator(
        task_id="publish_features",
        name="features",
        project="examples",
        folder=compute_features(),
        publish=True,
    )

with DAG(
    "dataver_features_consumer",
    schedule=[FEATURES],
    start_date=_START,
    catchup=False,
    tags=["dataver", "example"],
) as consumer_dag:

    @task(inlets=[FEATURES])
    def newest_features(inlet_events: Any) -> str:
        """The version id in the asset's newest event (the one that scheduled this run)."""
        events = inlet_events[FEATURES]
        if not events:  # a manual run before any version was announced
            raise AirflowSkipException("no version of examples/features was announced yet")
        event = events[-1]
        return str(event.extra["payload"]["id"])

    fetch = DataverGetOperator(task_id="fetch_features", version_id=newest_features())

    @task
    def score(local_copy: str) -> dict[str, float]:
        table = json.loads((Path(local_copy) / "features.json").read_text())
        return {"users": len(table), "mean_score": sum(r["score"] for r in table) / len(table)}

    score(fetch.output)
