"""Test DAGs for ``DataverStateSensor``; the registry comes from the ``dataver_default`` connection.

``dataver_sensor_id``: wait (poke mode) for ``conf["version_id"]`` to be Final/Published.

``dataver_sensor_reschedule``: as ``dataver_sensor_id``, in reschedule mode (1 s interval).

``dataver_sensor_deferred``: wait (deferrable) for a version of ``tests/<conf["name"]>`` newer
than ``conf["newer_than"]``.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from dataver_airflow.sensors import DataverStateSensor

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

with DAG("dataver_sensor_id", schedule=None, start_date=_START, catchup=False) as id_dag:
    DataverStateSensor(
        task_id="wait",
        version_id="{{ dag_run.conf['version_id'] }}",
        poke_interval=5,
        timeout=60,
        retries=2,
    )

with DAG("dataver_sensor_deferred", schedule=None, start_date=_START, catchup=False) as defer_dag:
    DataverStateSensor(
        task_id="wait",
        name="{{ dag_run.conf['name'] }}",
        project="tests",
        newer_than="{{ dag_run.conf['newer_than'] }}",
        deferrable=True,
        poke_interval=0.2,
        timeout=60,
    )

with DAG(
    "dataver_sensor_reschedule", schedule=None, start_date=_START, catchup=False
) as resched_dag:
    DataverStateSensor(
        task_id="wait",
        version_id="{{ dag_run.conf['version_id'] }}",
        mode="reschedule",
        poke_interval=1,
        timeout=60,
    )
