"""Test DAGs for asset events; the registry comes from the ``dataver_default`` connection.

``dataver_asset_static``: publish a version of ``tests/announced`` from ``conf["folder"]``; the
dataset's asset is a declared outlet.

``dataver_asset_mapped``: ``dataver_asset_static`` mapped over ``<folder>/one`` and
``<folder>/two`` (without publishing): two versions, two events.

``dataver_asset_watched``: scheduled on ``tests/watched`` through a ``DataverPublishedTrigger``
asset watcher (never run; the tests check that Airflow registers its trigger).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset, AssetWatcher, task

from dataver_airflow.operators import DataverVersionOperator
from dataver_airflow.triggers import DataverPublishedTrigger

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

with DAG("dataver_asset_static", schedule=None, start_date=_START, catchup=False) as static_dag:
    DataverVersionOperator(
        task_id="version",
        name="announced",
        project="tests",
        folder="{{ dag_run.conf['folder'] }}",
        publish=True,
    )

WATCHED = Asset(
    "dataver://tests/watched",
    watchers=[
        AssetWatcher(
            name="tests-watched-published",
            trigger=DataverPublishedTrigger(name="watched", project="tests", poll_interval=30),
        )
    ],
)

with DAG(
    "dataver_asset_watched", schedule=[WATCHED], start_date=_START, catchup=False
) as watched_dag:

    @task
    def noop() -> None:
        """Never run by the tests."""

    noop()

with DAG("dataver_asset_mapped", schedule=None, start_date=_START, catchup=False) as mapped_dag:
    DataverVersionOperator.partial(
        task_id="version", name="mapped-static", project="tests", parents=None
    ).expand(folder=["{{ dag_run.conf['folder'] }}/one", "{{ dag_run.conf['folder'] }}/two"])
