"""Test DAGs for many writers building one version (issue 21); run with ``dag.test()``.

``dataver_writers_mapped``: create ``tests/<conf name>``, split ``conf["folder"]`` into
``conf["workers"]`` parts, add each part from a mapped task (a writer each), list the
writers (task ``writers``, before finalize: finalize drops their records), finalize, publish.
With ``conf["fail_once"]`` (a flag file) the mapped task of map index 1 fails its first try
after committing its part under ``stale/``: its retry must replace that contribution.

``dataver_writers_conflict``: two mapped adds (``conf["a"]``, ``conf["b"]``, no parts) that
give the same path different content; finalize with ``conf["on_conflict"]`` and retries.

``dataver_writers_unmapped``: parts 0 and 1 of ``conf["folder"]`` added by two plain tasks:
``add_writer`` as its automatic writer (it has a part), ``add_own`` with ``writer=None``.

``dataver_writers_sync``: a version of ``tests/<conf name>`` on top of the latest one, whose
three mapped sync tasks each mirror one part of ``conf["folder"]``.

``dataver_writers_bad_parts``: ``DataverPartitionOperator`` with ``num_parts=0`` and retries.
"""

from __future__ import annotations

import datetime as dt
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
    DataverSyncFolderOperator,
)

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
_NAME = "{{ dag_run.conf['name'] }}"
_NO_RETRY_DELAY = {"retries": 1, "retry_delay": dt.timedelta(0)}


@task
def writers(version: dict[str, Any]) -> list[dict[str, Any]]:
    """The version's writer records (name, committed files and bytes), by name."""
    with DataverHook().get_registry() as registry:
        ds = registry.get(version["id"], states=None)
        return [
            {
                "name": w.name,
                "files": w.committed.files if w.committed else None,
                "bytes": w.committed.bytes if w.committed else None,
                "at_work": w.attempt is not None,
            }
            for w in ds.writers()
        ]


class FailsOnce(DataverAddFilesOperator):
    """Map index 1 fails its first try (while ``conf["fail_once"]`` does not exist yet),
    after committing its part under ``stale/``."""

    def execute(self, context: Any) -> Any:
        flag = context["dag_run"].conf.get("fail_once")
        if not flag or context["ti"].map_index != 1 or Path(flag).exists():
            return super().execute(context)
        Path(flag).write_text("failed once")
        self.dataset_path = "stale"
        super().execute(context)
        raise RuntimeError("the first try of map index 1 fails on purpose")


with DAG("dataver_writers_mapped", schedule=None, start_date=_START, catchup=False) as mapped_dag:
    create = DataverCreateOperator(task_id="create", name=_NAME, project="tests")
    parts = DataverPartitionOperator(
        task_id="partition",
        source="{{ dag_run.conf['folder'] }}",
        num_parts="{{ dag_run.conf['workers'] }}",
    )
    add = FailsOnce.partial(task_id="add", version_id=create.output, **_NO_RETRY_DELAY).expand(
        part=parts.output
    )
    listed = writers(create.output)
    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    publish = DataverPublishOperator(task_id="publish", version_id=create.output)
    add >> listed >> final >> publish

with DAG(
    "dataver_writers_conflict", schedule=None, start_date=_START, catchup=False
) as conflict_dag:
    create = DataverCreateOperator(task_id="create", name=_NAME, project="tests")
    add = DataverAddFilesOperator.partial(task_id="add", version_id=create.output).expand(
        path=["{{ dag_run.conf['a'] }}", "{{ dag_run.conf['b'] }}"]
    )
    final = DataverFinalizeOperator(
        task_id="finalize",
        version_id=create.output,
        on_conflict="{{ dag_run.conf['on_conflict'] }}",
        retries=2,
        retry_delay=dt.timedelta(0),
    )
    add >> final


@task
def pick(parts: list[dict[str, Any]], index: int) -> dict[str, Any]:
    return parts[index]


with DAG(
    "dataver_writers_unmapped", schedule=None, start_date=_START, catchup=False
) as unmapped_dag:
    create = DataverCreateOperator(task_id="create", name=_NAME, project="tests")
    parts = DataverPartitionOperator(
        task_id="partition", source="{{ dag_run.conf['folder'] }}", num_parts=2
    )
    add_writer = DataverAddFilesOperator(
        task_id="add_writer", version_id=create.output, part=pick(parts.output, 0)
    )
    add_own = DataverAddFilesOperator(
        task_id="add_own",
        version_id=create.output,
        path="{{ dag_run.conf['folder'] }}",
        part=pick.override(task_id="pick_1")(parts.output, 1),
        writer=None,
    )
    listed = writers(create.output)
    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    [add_writer, add_own] >> listed >> final

with DAG(
    "dataver_writers_bad_parts", schedule=None, start_date=_START, catchup=False
) as bad_parts_dag:
    DataverPartitionOperator(
        task_id="partition",
        source="{{ dag_run.conf['folder'] }}",
        num_parts=0,
        retries=3,
        retry_delay=dt.timedelta(0),
    )

with DAG("dataver_writers_sync", schedule=None, start_date=_START, catchup=False) as sync_dag:
    create = DataverCreateOperator(task_id="create", name=_NAME, project="tests", parents="latest")
    parts = DataverPartitionOperator(
        task_id="partition", source="{{ dag_run.conf['folder'] }}", num_parts=3
    )
    sync = DataverSyncFolderOperator.partial(task_id="sync", version_id=create.output).expand(
        part=parts.output
    )
    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    sync >> final
