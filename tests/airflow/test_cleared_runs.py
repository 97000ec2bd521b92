"""A cleared DAG run of the step operators takes over the version its earlier run sealed.

The operators are called as a cleared run calls them: the same DAG run and task (so the same
resume key), a later try. tests/airflow/test_live_dags.py clears runs in a live Airflow.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import dataver
from dataver_airflow.operators import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverRemoveFilesOperator,
    DataverSyncFolderOperator,
)

if TYPE_CHECKING:
    from pathlib import Path


def _context(task_id: str, try_number: int, run_id: str = "manual__cleared") -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="dataver_steps",
        run_id=run_id,
        task_id=task_id,
        map_index=-1,
        try_number=try_number,
        max_tries=try_number,
        log_url="http://airflow.example/log",
    )
    return {"ti": ti, "logical_date": None}


def test_a_cleared_create_step_takes_over_its_sealed_version(
    tmp_path: Path, registry_url: str
) -> None:
    create = DataverCreateOperator(task_id="create", name="cleared-steps", project="tests")
    made = create.execute(_context("create", 1))
    ds = dataver.Registry(registry_url).get(made["id"], states=None)
    ds.finalize()
    ds.publish()  # the earlier run got this far, then was cleared

    again = create.execute(_context("create", 2))
    other_run = create.execute(_context("create", 1, run_id="manual__other"))

    assert again["id"] == made["id"]
    assert again["state"] == "published"
    assert other_run["id"] != made["id"]  # another DAG run makes its own version
    versions = dataver.Registry(registry_url).list(
        project="tests", name="cleared-steps", states=None
    )
    assert len(versions) == 2


def test_the_fill_steps_leave_a_version_their_run_sealed_alone(
    tmp_path: Path, registry_url: str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    made = DataverCreateOperator(task_id="create", name="sealed", project="tests").execute(
        _context("create", 1)
    )
    ds = dataver.Registry(registry_url).get(made["id"], states=None)
    ds.add_files(folder)
    ds.finalize(auto_upload=True)

    steps = [
        DataverAddFilesOperator(task_id="add", version_id=made, path=str(folder / "a.csv")),
        DataverSyncFolderOperator(task_id="sync", version_id=made, folder=str(folder)),
        DataverRemoveFilesOperator(task_id="drop", version_id=made, pattern="*.csv"),
    ]
    for step in steps:
        assert step.execute(_context(step.task_id, 2))["state"] == "final"
    assert dataver.Registry(registry_url).get(made["id"]).list_files() == ["a.csv"]
