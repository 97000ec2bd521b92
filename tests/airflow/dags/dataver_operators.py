"""Test DAGs for the dataver operators; the registry comes from the ``dataver_default`` connection.

``dataver_version_chain``: version ``folder_a`` (no parent), then ``folder_b`` on top of it
(``parents="latest"``), then fetch the child. Run with
``conf={"name": ..., "folder_a": <path>, "folder_b": <path>}``.

``dataver_version_one``: version ``folder`` alone. Run with ``conf={"name": ..., "folder": ...}``
(and ``"unchanged"``: what an unchanged folder makes, default ``"reuse"``).

``dataver_steps``: create, add ``folder`` under data/, sync ``docs`` under docs/, drop ``*.tmp``,
finalize, publish. Run with ``conf={"name": ..., "folder": ..., "docs": ...}``.

``dataver_seal``: finalize, then publish ``conf["version_id"]``.

``dataver_finalize_only``: create, add ``folder``, finalize (no publish). With
``conf["announce"]`` the finalize step announces even though a publish step follows
(``dataver_finalize_announces``).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from dataver_airflow.operators import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverFinalizeOperator,
    DataverGetOperator,
    DataverPublishOperator,
    DataverRemoveFilesOperator,
    DataverSyncFolderOperator,
    DataverVersionOperator,
)

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

with DAG("dataver_version_chain", schedule=None, start_date=_START, catchup=False) as chain_dag:
    parent = DataverVersionOperator(
        task_id="parent",
        name="{{ dag_run.conf['name'] }}",
        project="tests",
        folder="{{ dag_run.conf['folder_a'] }}",
        parents=None,
        tags=["raw"],
        metadata={"source": "{{ dag_run.conf['folder_a'] }}"},
    )
    child = DataverVersionOperator(
        task_id="child",
        name="{{ dag_run.conf['name'] }}",
        project="tests",
        folder="{{ dag_run.conf['folder_b'] }}",
        dataset_path="more",
        parents="latest",
        publish=True,
    )
    fetch = DataverGetOperator(task_id="fetch", version_id=child.output)
    parent >> child

with DAG("dataver_version_one", schedule=None, start_date=_START, catchup=False) as one_dag:
    DataverVersionOperator(
        task_id="version",
        name="{{ dag_run.conf['name'] }}",
        project="tests",
        folder="{{ dag_run.conf['folder'] }}",
        unchanged="{{ dag_run.conf.get('unchanged', 'reuse') }}",
    )

with DAG("dataver_steps", schedule=None, start_date=_START, catchup=False) as steps_dag:
    create = DataverCreateOperator(
        task_id="create",
        name="{{ dag_run.conf['name'] }}",
        project="tests",
        parents="latest",
        description="step by step",
    )
    add = DataverAddFilesOperator(
        task_id="add",
        version_id=create.output,
        path="{{ dag_run.conf['folder'] }}",
        dataset_path="data",
    )
    sync = DataverSyncFolderOperator(
        task_id="sync",
        version_id=create.output,
        folder="{{ dag_run.conf['docs'] }}",
        dataset_path="docs",
    )
    drop = DataverRemoveFilesOperator(task_id="drop", version_id=create.output, pattern="*.tmp")
    final = DataverFinalizeOperator(task_id="finalize", version_id=create.output)
    publish = DataverPublishOperator(task_id="publish", version_id=create.output)
    create >> add >> sync >> drop >> final >> publish

with DAG("dataver_seal", schedule=None, start_date=_START, catchup=False) as seal_dag:
    DataverFinalizeOperator(
        task_id="finalize", version_id="{{ dag_run.conf['version_id'] }}"
    ) >> DataverPublishOperator(task_id="publish", version_id="{{ dag_run.conf['version_id'] }}")

with DAG(
    "dataver_finalize_only", schedule=None, start_date=_START, catchup=False
) as finalize_only_dag:
    made = DataverCreateOperator(
        task_id="create", name="{{ dag_run.conf['name'] }}", project="tests"
    )
    DataverAddFilesOperator(
        task_id="add", version_id=made.output, path="{{ dag_run.conf['folder'] }}"
    ) >> DataverFinalizeOperator(task_id="finalize", version_id=made.output)

with DAG(
    "dataver_finalize_announces", schedule=None, start_date=_START, catchup=False
) as finalize_announces_dag:
    made = DataverCreateOperator(
        task_id="create", name="{{ dag_run.conf['name'] }}", project="tests"
    )
    sealed = DataverFinalizeOperator(task_id="finalize", version_id=made.output, announce=True)
    (
        DataverAddFilesOperator(
            task_id="add", version_id=made.output, path="{{ dag_run.conf['folder'] }}"
        )
        >> sealed
        >> DataverPublishOperator(task_id="publish", version_id=sealed.output)
    )
