"""Producers for the live tests: the docs' operators, their assets declared automatically.

``dataver_live_watch_producer`` publishes a version of ``live/watched`` (the dataset
``live_watch.py`` watches) with ``DataverVersionOperator``.

``dataver_live_steps`` builds a version of ``live/steps`` step by step (create, add,
finalize, publish); ``dataver_live_steps_consumer`` is scheduled on its asset.

``dataver_live_hold`` versions a folder and then holds, before the task ends, until the
file ``<conf hold>.release`` exists (it writes ``<conf hold>.reached`` first): the test
marks the task failed while it holds.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, task

from dataver_airflow.operators import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverFinalizeOperator,
    DataverPublishOperator,
    DataverVersionOperator,
)

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
STEPS = Asset("dataver://live/steps")

with DAG(
    "dataver_live_watch_producer",
    schedule=None,
    start_date=_START,
    catchup=False,
    is_paused_upon_creation=False,
):
    DataverVersionOperator(
        task_id="publish",
        name="watched",
        project="live",
        folder="{{ dag_run.conf['folder'] }}",
        unchanged="new",
        publish=True,
    )

with DAG(
    "dataver_live_steps", schedule=None, start_date=_START, catchup=False,
    is_paused_upon_creation=False,
):  # fmt: skip
    create = DataverCreateOperator(task_id="create", name="steps", project="live", parents="latest")
    add = DataverAddFilesOperator(
        task_id="add", version_id=create.output, path="{{ dag_run.conf['folder'] }}"
    )
    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    publish = DataverPublishOperator(task_id="publish", version_id=create.output)
    create >> add >> final >> publish

with DAG(
    "dataver_live_steps_consumer",
    schedule=[STEPS],
    start_date=_START,
    catchup=False,
    is_paused_upon_creation=False,
):

    @task
    def announced(triggering_asset_events: Any = None) -> list[str]:
        return [event.extra["payload"]["id"] for event in triggering_asset_events[STEPS]]

    announced()


class HoldsAtTheEnd(DataverVersionOperator):
    """``DataverVersionOperator`` that, once its version is sealed, waits for a release."""

    def execute(self, context: Any) -> Any:
        done = super().execute(context)
        hold = Path(context["params"]["hold"])
        hold.with_suffix(".reached").write_text(str(context["ti"].try_number))
        deadline = time.monotonic() + 120
        while not hold.with_suffix(".release").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        return done


with DAG(
    "dataver_live_hold",
    schedule=None,
    start_date=_START,
    catchup=False,
    is_paused_upon_creation=False,
    params={"hold": "", "folder": ""},
):
    HoldsAtTheEnd(
        task_id="version",
        name="held",
        project="live",
        folder="{{ params.folder }}",
        unchanged="new",
    )
