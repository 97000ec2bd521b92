"""The example DAGs of examples/dags run with ``dag.test()``, on a local and a moto S3 registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.utils.state import DagRunState, TaskInstanceState

import dataver

from .conftest import load_example

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG


def _succeeded(run: DagRun) -> dict[str, object]:
    """Assert the run and all its tasks succeeded; return each task's XCom return value."""
    tis = run.get_task_instances()
    assert run.state == DagRunState.SUCCESS, {ti.task_id: ti.state for ti in tis}
    assert all(ti.state == TaskInstanceState.SUCCESS for ti in tis)
    return {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in tis}


def test_ingest_version_wait_train(any_registry_url: str, tmp_path: Path) -> None:
    dag = load_example("airflow_ingest_train", "ingest_train_dag")

    results = _succeeded(dag.test(run_conf={"workdir": str(tmp_path / "work")}))

    (version,) = dataver.Registry(any_registry_url).list(project="examples", name="points")
    assert version.state is dataver.State.FINAL
    assert version.list_files() == ["points.csv", "schema.json"]
    assert version.provenance["dag_id"] == "dataver_ingest_train"
    assert version.tags == ("ingest",)
    assert results["wait_until_final"] == version.id
    model = results["train"]
    assert isinstance(model, dict)
    assert model["dataset_version_id"] == version.id
    assert model["rows"] == 100
    assert abs(model["slope"] - 2) < 0.05


def test_producer_publishes_and_consumer_reads_the_announced_version(
    any_registry_url: str, tmp_path: Path
) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    producer = load_example("airflow_assets", "producer_dag")
    consumer = load_example("airflow_assets", "consumer_dag")
    _register_unpaused(consumer)

    _succeeded(producer.test(run_conf={"workdir": str(tmp_path / "work")}))

    (published,) = dataver.Registry(any_registry_url).list(project="examples", name="features")
    assert published.state is dataver.State.PUBLISHED
    with create_session() as session:
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id)
            .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
            .where(AssetModel.uri == "dataver://examples/features")
        ).all()
    assert "dataver_features_consumer" in queued  # the event schedules the consumer

    results = _succeeded(consumer.test())
    assert results["newest_features"] == published.id
    assert results["score"] == {"users": 20, "mean_score": 4.5}


def test_daily_increments_chain_each_day_onto_the_previous_version(
    any_registry_url: str, tmp_path: Path
) -> None:
    dag = load_example("airflow_incremental_daily", "daily_dag")
    days = [dt.datetime(2026, 3, d, tzinfo=dt.timezone.utc) for d in (1, 2, 3)]

    for day in days:
        _succeeded(dag.test(logical_date=day, run_conf={"workdir": str(tmp_path / "work")}))

    registry = dataver.Registry(any_registry_url)
    first, second, third = sorted(
        registry.list(project="examples", name="events"), key=lambda v: v.created_at
    )
    assert [v.state for v in (first, second, third)] == [dataver.State.FINAL] * 3
    assert first.parents == ()
    assert second.parents == (first.id,)
    assert third.parents == (second.id,)
    assert third.list_files() == [
        "days/2026-03-01/events.csv",
        "days/2026-03-02/events.csv",
        "days/2026-03-03/events.csv",
    ]
    assert third.stats.added == 1  # only the new day is new
    assert third.metadata == {"day": "2026-03-03"}


def test_many_writers_add_the_parts_of_one_folder_to_one_version(
    any_registry_url: str, tmp_path: Path
) -> None:
    dag = load_example("airflow_many_writers", "many_writers_dag")
    conf = {"workdir": str(tmp_path / "work"), "files": 40, "workers": 4}

    run = dag.test(run_conf=conf)

    tis = run.get_task_instances()
    assert run.state == DagRunState.SUCCESS, {(t.task_id, t.map_index): t.state for t in tis}
    assert sorted(t.map_index for t in tis if t.task_id == "add") == [0, 1, 2, 3]
    contributions = [
        t.xcom_pull(task_ids="add", map_indexes=t.map_index, key="contribution")
        for t in tis
        if t.task_id == "add"
    ]
    assert sorted(c["writer"] for c in contributions) == [
        f"dataver_many_writers/{run.run_id}/add/{i}" for i in range(4)
    ]
    assert [c["files"] for c in contributions] == [10, 10, 10, 10]
    (version,) = dataver.Registry(any_registry_url).list(project="examples", name="shards")
    assert version.state is dataver.State.PUBLISHED
    assert version.stats.files == 40
    (export,) = (tmp_path / "work" / "shards").iterdir()
    exported = {p.relative_to(export).as_posix(): p.read_bytes() for p in export.rglob("*.csv")}
    assert version.list_files() == sorted(exported)
    local = Path(version.get_local_copy())
    assert {name: (local / name).read_bytes() for name in exported} == exported


def _register_unpaused(dag: DAG) -> None:
    """Put the DAG (and its asset schedule) in the metadata DB, unpaused, as the scheduler has it.

    A run of the DAG registers it (dag.test syncs its bundle; its tasks are only marked
    success); new DAGs start paused, and Airflow queues no runs of a paused DAG for asset events.
    """
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    dag.test(mark_success_pattern=".*")
    with create_session() as session:
        session.execute(
            update(DagModel).where(DagModel.dag_id == dag.dag_id).values(is_paused=False)
        )


def test_the_example_dags_import_cleanly() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from .conftest import EXAMPLES_FOLDER

    bag = DagBag(dag_folder=EXAMPLES_FOLDER)

    assert bag.import_errors == {}
    assert {
        "dataver_ingest_train",
        "dataver_features_producer",
        "dataver_features_consumer",
        "dataver_daily_increments",
        "dataver_many_writers",
    } <= set(bag.dag_ids)
