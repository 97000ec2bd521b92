"""The Airflow environment runs dataver inside real task runs (``dag.test()``, SQLite)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.utils.state import DagRunState, TaskInstanceState

import airflow
import dataver
import dataver_airflow

from .conftest import load_dag

if TYPE_CHECKING:
    from pathlib import Path


def test_airflow_is_the_supported_release() -> None:
    assert airflow.__version__.startswith("3.3.")
    assert dataver_airflow.__version__


def test_a_task_builds_a_version_that_the_next_task_reads(tmp_path: Path) -> None:
    registry_url = str(tmp_path / "registry")
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.csv").write_text("x,y\n1,2\n")
    dag = load_dag("env_roundtrip", "env_roundtrip_dag")

    run = dag.test(run_conf={"registry": registry_url, "folder": str(source), "name": "env"})

    assert run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"build": TaskInstanceState.SUCCESS, "read": TaskInstanceState.SUCCESS}
    (version,) = dataver.Registry(registry_url).list(name="env")
    assert version.state is dataver.State.FINAL
    assert version.stats.files == 1
    read = next(ti for ti in run.get_task_instances() if ti.task_id == "read")
    assert read.xcom_pull(task_ids="read") == {"a.csv": "x,y\n1,2\n"}
