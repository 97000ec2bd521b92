"""Test DAGs for the symlink policy of the operators (``symlinks=``).

``dataver_symlinks_refused``: create, then add ``folder`` with the default policy.
``dataver_symlinks_policies``: create, add ``folder`` under skip/ skipping links that lead
outside it, sync it under follow/ following them, finalize.
``dataver_symlinks_version``: version ``folder`` in one step, following links.
Run each with ``conf={"name": ..., "folder": <path>}``.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from dataver_airflow.operators import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverFinalizeOperator,
    DataverSyncFolderOperator,
    DataverVersionOperator,
)

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
_NAME = "{{ dag_run.conf['name'] }}"
_FOLDER = "{{ dag_run.conf['folder'] }}"

with DAG("dataver_symlinks_refused", schedule=None, start_date=_START, catchup=False) as refused:
    created = DataverCreateOperator(task_id="create", name=_NAME, project="tests")
    created >> DataverAddFilesOperator(task_id="add", version_id=created.output, path=_FOLDER)

with DAG("dataver_symlinks_policies", schedule=None, start_date=_START, catchup=False) as policies:
    made = DataverCreateOperator(task_id="create", name=_NAME, project="tests")
    skip = DataverAddFilesOperator(
        task_id="add", version_id=made.output, path=_FOLDER, dataset_path="skip", symlinks="skip"
    )
    follow = DataverSyncFolderOperator(
        task_id="sync",
        version_id=made.output,
        folder=_FOLDER,
        dataset_path="follow",
        symlinks="follow",
    )
    made >> skip >> follow >> DataverFinalizeOperator(task_id="finalize", version_id=made.output)

with DAG("dataver_symlinks_version", schedule=None, start_date=_START, catchup=False) as version:
    DataverVersionOperator(
        task_id="version", name=_NAME, project="tests", folder=_FOLDER, symlinks="follow"
    )
