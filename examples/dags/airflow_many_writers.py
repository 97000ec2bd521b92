"""Many workers, one version: mapped tasks each add one part of a folder to the same version.

1. ``create`` makes an Uploading version of ``examples/shards``;
2. ``export`` writes the run's shards (``files`` small CSV files) into a local folder;
3. ``partition`` splits that folder into ``workers`` parts (balanced by file count) and
   returns them as a list, one item per worker;
4. ``add`` is mapped over the parts (``.expand(part=...)``): each mapped task adds the files
   of its part, in parallel with the others, as a *writer* of its own
   (``<dag_id>/<run_id>/add/<map_index>``); its content is uploaded before the task ends, so
   the tasks may run on different machines, and a retried task replaces what its failed try
   left instead of adding to it;
5. ``finalize`` merges every writer's contribution into the Final version in one pass;
6. ``publish`` publishes it (and announces it with one asset event).

Needs a ``dataver_default`` connection (see docs/airflow.md). ``workdir`` (a param) is where
the stand-in export goes; ``files`` and ``workers`` size the run. How many mapped tasks run at
once is Airflow's choice (``parallelism``, the pool, ``max_active_tis_per_dag``).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, task

from dataver_airflow.operators import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverFinalizeOperator,
    DataverPartitionOperator,
    DataverPublishOperator,
)

# Where the stand-in exports are written (a param: override it per run).
WORKDIR = str(Path(tempfile.gettempdir()) / "dataver-examples")


def shard(number: int) -> str:
    """The text of shard ``number``: the same number always gives the same bytes."""
    rows = "".join(f"{number},{row},{(number * 31 + row) % 97}\n" for row in range(20))
    return "shard,row,value\n" + rows


with DAG(
    "dataver_many_writers",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    params={
        "workdir": Param(WORKDIR, type="string"),
        "files": Param(200, type="integer", minimum=1),
        "workers": Param(4, type="integer", minimum=1),
    },
    tags=["dataver", "example"],
) as many_writers_dag:
    create = DataverCreateOperator(
        task_id="create", name="shards", project="examples", tags=["many-writers"]
    )

    @task
    def export(params: dict[str, Any], run_id: str | None = None) -> str:
        """Write the run's shards into a folder of their own (a stand-in for a real export)."""
        folder = Path(params["workdir"]) / "shards" / re.sub(r"[^\w.-]", "_", str(run_id))
        for number in range(int(params["files"])):
            path = folder / f"group-{number % 10}" / f"shard-{number:05d}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(shard(number))
        return str(folder)

    parts = DataverPartitionOperator(
        task_id="partition", source=export(), num_parts="{{ params.workers }}"
    )

    # One mapped task per part; each is a writer of the version (its part's files only).
    add = DataverAddFilesOperator.partial(task_id="add", version_id=create.output).expand(
        part=parts.output
    )

    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    publish = DataverPublishOperator(task_id="publish", version_id=create.output)
    add >> final >> publish
