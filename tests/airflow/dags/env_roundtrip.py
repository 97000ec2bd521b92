"""Test DAG: one task builds a version from a folder, the next reads it back.

Run with ``conf={"registry": <url>, "folder": <path>, "name": <dataset name>}``.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, get_current_context, task

import dataver


def _conf() -> dict[str, str]:
    dag_run = get_current_context()["dag_run"]
    return dict(dag_run.conf or {})


@dag(schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), catchup=False)
def env_roundtrip() -> None:
    @task
    def build() -> str:
        conf = _conf()
        ds = dataver.Registry(conf["registry"]).create(conf["name"])
        ds.add_files(conf["folder"])
        ds.finalize(auto_upload=True)
        return ds.id

    @task
    def read(version_id: str) -> dict[str, str]:
        ds = dataver.Registry(_conf()["registry"]).get(version_id)
        root = ds.get_local_copy()
        return {p.name: p.read_text() for p in sorted(root.iterdir())}

    read(build())


env_roundtrip_dag = env_roundtrip()
