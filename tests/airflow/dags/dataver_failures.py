"""Test DAGs for failures, retries and kills; the registry is the ``dataver_default`` connection.

``dataver_retry``: ``version`` fails on try 1 after creating its version (its uploads go
through the ``dataver_flaky`` connection, whose S3 endpoint answers 503), and succeeds on try 2
(through ``dataver_steady``). Run with ``conf={"name": ..., "folder": ...}``.

``dataver_retry_mapped``: the same, mapped over ``<folder>/one`` and ``<folder>/two`` (one
dataset, two versions): each map index resumes its own version.

``dataver_fail_for_good``: the same failure without retries.

``dataver_bad_input``: a version of ``conf["name"]`` from ``conf["folder"]`` with
``conf["parents"]`` (2 retries, which bad input must not use).

``dataver_unknown_conn``: a version through a connection that does not exist.

``dataver_timeout``: ``version`` with a 3 s execution timeout (Airflow calls on_kill).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.sdk import DAG

from dataver_airflow.operators import DataverVersionOperator

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
_NAME = "{{ dag_run.conf['name'] }}"
_FOLDER = "{{ dag_run.conf['folder'] }}"


def _flaky_first_try(context: Any) -> None:
    """Point ``dataver_default`` at the flaky endpoint on try 1, at the steady one after."""
    which = "FLAKY" if context["ti"].try_number == 1 else "STEADY"
    os.environ["AIRFLOW_CONN_DATAVER_DEFAULT"] = os.environ[f"AIRFLOW_CONN_DATAVER_{which}"]


with DAG("dataver_retry", schedule=None, start_date=_START, catchup=False) as retry_dag:
    DataverVersionOperator(
        task_id="version",
        name=_NAME,
        project="tests",
        folder=_FOLDER,
        dataset_path="data",
        pre_execute=_flaky_first_try,
        retries=1,
        retry_delay=dt.timedelta(0),
    )

with DAG("dataver_fail_for_good", schedule=None, start_date=_START, catchup=False) as fail_dag:
    DataverVersionOperator(
        task_id="version",
        name=_NAME,
        project="tests",
        folder=_FOLDER,
        dataset_path="data",
        pre_execute=_flaky_first_try,
    )

with DAG("dataver_bad_input", schedule=None, start_date=_START, catchup=False) as bad_dag:
    DataverVersionOperator(
        task_id="version",
        name=_NAME,
        project="tests",
        folder=_FOLDER,
        parents="{{ dag_run.conf.get('parents', 'latest') }}",
        retries=2,
        retry_delay=dt.timedelta(0),
    )

with DAG("dataver_unknown_conn", schedule=None, start_date=_START, catchup=False) as conn_dag:
    DataverVersionOperator(
        task_id="version",
        name=_NAME,
        project="tests",
        folder=_FOLDER,
        dataver_conn_id="no_such_connection",
    )

with DAG("dataver_timeout", schedule=None, start_date=_START, catchup=False) as timeout_dag:
    DataverVersionOperator(
        task_id="version",
        name=_NAME,
        project="tests",
        folder=_FOLDER,
        execution_timeout=dt.timedelta(seconds=3),
    )

with DAG("dataver_retry_mapped", schedule=None, start_date=_START, catchup=False) as mapped_dag:
    DataverVersionOperator.partial(
        task_id="version",
        name=_NAME,
        project="tests",
        dataset_path="data",
        parents=None,
        pre_execute=_flaky_first_try,
        retries=1,
        retry_delay=dt.timedelta(0),
    ).expand(folder=["{{ dag_run.conf['folder'] }}/one", "{{ dag_run.conf['folder'] }}/two"])
