"""Many writers, one version, under the live scheduler (``test_live_many_writers.py``).

``dataver_live_many_writers``: create ``live/<params.name>``, split ``params.folder`` into 4
parts, add each part from a mapped task (task processes of the LocalExecutor, a writer
each), list the writers before finalize (task ``writers``), finalize, publish.

Each mapped task first writes ``<params.barrier>/<map_index>`` and waits (at most 60 s) until
two of them exist, so that two writers work on the version at the same time. With
``params.fail_once`` (a flag file), the task of map index 1 fails its first try after
committing its part under ``stale/``; its retry must replace that contribution.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from dataver_airflow.hooks import DataverHook
from dataver_airflow.operators import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverFinalizeOperator,
    DataverPartitionOperator,
    DataverPublishOperator,
)

BARRIER_SECONDS = 60


class MeetsThenAdds(DataverAddFilesOperator):
    """Waits for a second mapped task to start, then adds its part (see the module doc)."""

    def execute(self, context: Any) -> Any:
        params, ti = context["params"], context["ti"]
        barrier = Path(params["barrier"])
        barrier.mkdir(parents=True, exist_ok=True)
        (barrier / f"{ti.map_index}-{ti.try_number}").write_text(str(time.time()))
        deadline = time.monotonic() + BARRIER_SECONDS
        while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        flag = params.get("fail_once")
        if not flag or ti.map_index != 1 or Path(flag).exists():
            return super().execute(context)
        Path(flag).write_text("failed once")
        self.dataset_path = "stale"
        super().execute(context)
        raise RuntimeError("the first try of map index 1 fails on purpose")


@task
def writers(version: dict[str, Any]) -> list[dict[str, Any]]:
    """The version's writer records before finalize (it drops them)."""
    with DataverHook().get_registry() as registry:
        ds = registry.get(version["id"], states=None)
        return [
            {
                "name": w.name,
                "files": w.committed.files if w.committed else None,
                "bytes": w.committed.bytes if w.committed else None,
            }
            for w in ds.writers()
        ]


with DAG(
    "dataver_live_many_writers",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    is_paused_upon_creation=False,
    params={"name": "", "folder": "", "barrier": "", "fail_once": ""},
):
    create = DataverCreateOperator(task_id="create", name="{{ params.name }}", project="live")
    parts = DataverPartitionOperator(task_id="partition", source="{{ params.folder }}", num_parts=4)
    add = MeetsThenAdds.partial(
        task_id="add",
        version_id=create.output,
        retries=1,
        retry_delay=dt.timedelta(seconds=1),
        max_active_tis_per_dag=4,
    ).expand(part=parts.output)
    listed = writers(create.output)
    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    publish = DataverPublishOperator(task_id="publish", version_id=create.output)
    add >> listed >> final >> publish
