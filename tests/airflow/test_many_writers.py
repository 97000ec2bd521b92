"""Many writers, one version (issue 21): partition, mapped add tasks as writers, finalize.

Real task runs (``dag.test()``, SQLite) on a local registry and on moto S3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.utils.state import DagRunState, TaskInstanceState

import dataver
from dataver import Part
from dataver_airflow.operators import DataverAddFilesOperator, DataverPartitionOperator

from .conftest import load_dag

pytestmark = pytest.mark.timeout(300)


def _files(root: Path, count: int) -> dict[str, bytes]:
    """``count`` small files in sub-folders of ``root``: dataset path -> bytes."""
    made = {}
    for number in range(count):
        rel = f"d{number % 3}/f{number:04d}.txt"
        data = f"file {number}\n".encode() * (1 + number % 5)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        made[rel] = data
    return made


def _tis(run: Any) -> dict[str, Any]:
    return {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": ti
        for ti in run.get_task_instances()
    }


def _same_content(ds: dataver.Dataset, expected: dict[str, bytes]) -> None:
    assert ds.list_files() == sorted(expected)
    local = Path(ds.get_local_copy())
    assert {p: (local / p).read_bytes() for p in expected} == expected
    assert ds.stats.files == len(expected)
    assert ds.stats.logical_bytes == sum(map(len, expected.values()))


def test_mapped_adds_are_writers_that_finalize_merges(
    any_registry_url: str, tmp_path: Path
) -> None:
    expected = _files(tmp_path / "data", 60)
    dag = load_dag("dataver_many_writers", "mapped_dag")

    run = dag.test(run_conf={"name": "mapped", "folder": str(tmp_path / "data"), "workers": 4})

    tis = _tis(run)
    assert run.state == DagRunState.SUCCESS, {k: ti.state for k, ti in tis.items()}
    assert {k for k in tis if k.startswith("add[")} == {f"add[{i}]" for i in range(4)}
    parts = tis["partition"].xcom_pull(task_ids="partition")
    assert [p["index"] for p in parts] == [0, 1, 2, 3]
    assert [p["files"] for p in parts] == [15, 15, 15, 15]
    assert Part.from_dict(parts[2]).contains(sorted(expected)[30])

    names = [f"dataver_writers_mapped/{run.run_id}/add/{i}" for i in range(4)]
    listed = tis["writers"].xcom_pull(task_ids="writers")
    assert sorted(w["name"] for w in listed) == names
    assert [w["files"] for w in listed] == [15, 15, 15, 15]
    assert not any(w["at_work"] for w in listed)
    for i, name in enumerate(names):
        contribution = tis[f"add[{i}]"].xcom_pull(task_ids="add", map_indexes=i, key="contribution")
        assert contribution["writer"] == name
        assert contribution["files"] == 15
    (ds,) = dataver.Registry(any_registry_url).list(project="tests", name="mapped")
    assert ds.state is dataver.State.PUBLISHED
    _same_content(ds, expected)
    assert ds.writers() == []  # finalize drops the writer records


def test_a_retried_mapped_add_replaces_what_its_failed_try_committed(
    registry_url: str, tmp_path: Path
) -> None:
    expected = _files(tmp_path / "data", 40)
    dag = load_dag("dataver_many_writers", "mapped_dag")
    conf = {"name": "retried", "folder": str(tmp_path / "data"), "workers": 4}

    run = dag.test(run_conf={**conf, "fail_once": str(tmp_path / "failed-once")})

    tis = _tis(run)
    assert run.state == DagRunState.SUCCESS, {k: ti.state for k, ti in tis.items()}
    assert (tmp_path / "failed-once").exists()
    assert [tis[f"add[{i}]"].try_number for i in range(4)] == [1, 2, 1, 1]
    listed = tis["writers"].xcom_pull(task_ids="writers")
    assert len(listed) == 4  # the retry is the same writer, not a fifth one
    assert sum(w["files"] for w in listed) == 40
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="retried")
    assert not [p for p in ds.list_files() if p.startswith("stale/")]
    _same_content(ds, expected)


def _two_folders(tmp_path: Path) -> dict[str, str]:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "same.csv").write_text(f"from {name}\n")
        (tmp_path / name / f"only-{name}.csv").write_text(name)
    return {"a": str(tmp_path / "a"), "b": str(tmp_path / "b")}


def test_writers_that_disagree_fail_finalize_at_once(registry_url: str, tmp_path: Path) -> None:
    dag = load_dag("dataver_many_writers", "conflict_dag")
    conf = {"name": "clash", "on_conflict": "error", **_two_folders(tmp_path)}

    run = dag.test(run_conf=conf)

    tis = _tis(run)
    assert run.state == DagRunState.FAILED
    assert tis["finalize"].state == TaskInstanceState.FAILED
    assert tis["finalize"].try_number == 1  # no retry: it would gather the same work again
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="clash", states=None)
    assert ds.state is dataver.State.UPLOADING
    assert len(ds.writers()) == 2


def test_writer_order_keeps_the_content_of_the_writer_named_last(
    registry_url: str, tmp_path: Path
) -> None:
    dag = load_dag("dataver_many_writers", "conflict_dag")
    conf = {"name": "ordered", "on_conflict": "writer-order", **_two_folders(tmp_path)}

    run = dag.test(run_conf=conf)

    assert run.state == DagRunState.SUCCESS
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="ordered")
    assert ds.list_files() == ["only-a.csv", "only-b.csv", "same.csv"]
    # writer ".../add/1" sorts after ".../add/0": folder b's content wins
    with ds.open("same.csv") as same:
        assert same.read() == b"from b\n"


def test_a_plain_task_with_a_part_is_a_writer_unless_told_not_to(
    registry_url: str, tmp_path: Path
) -> None:
    expected = _files(tmp_path / "data", 10)
    dag = load_dag("dataver_many_writers", "unmapped_dag")

    run = dag.test(run_conf={"name": "plain", "folder": str(tmp_path / "data")})

    tis = _tis(run)
    assert run.state == DagRunState.SUCCESS, {k: ti.state for k, ti in tis.items()}
    listed = tis["writers"].xcom_pull(task_ids="writers")
    assert [(w["name"], w["files"]) for w in listed] == [
        (f"dataver_writers_unmapped/{run.run_id}/add_writer/-1", 5)
    ]
    assert tis["add_own"].xcom_pull(task_ids="add_own", key="contribution") is None
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="plain")
    _same_content(ds, expected)


def test_mapped_syncs_each_mirror_their_part_of_the_folder(
    registry_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    expected = _files(folder, 30)
    dag = load_dag("dataver_many_writers", "sync_dag")
    assert dag.test(run_conf={"name": "mirror", "folder": str(folder)}).state == "success"
    # the folder changes: a file goes, one changes, one comes (in different parts)
    (folder / "d0/f0000.txt").unlink()
    del expected["d0/f0000.txt"]
    (folder / "d2/f0029.txt").write_bytes(b"changed\n")
    expected["d2/f0029.txt"] = b"changed\n"
    (folder / "d1/new.txt").write_bytes(b"new\n")
    expected["d1/new.txt"] = b"new\n"

    run = dag.test(run_conf={"name": "mirror", "folder": str(folder)})

    tis = _tis(run)
    assert run.state == DagRunState.SUCCESS, {k: ti.state for k, ti in tis.items()}
    contributions = [
        tis[f"sync[{i}]"].xcom_pull(task_ids="sync", map_indexes=i, key="contribution")
        for i in range(3)
    ]
    assert sum(c["removed"] for c in contributions) == 1
    assert sum(c["files"] for c in contributions) == 2  # the changed file and the new one
    first, second = sorted(
        dataver.Registry(registry_url).list(project="tests", name="mirror"),
        key=lambda v: v.created_at,
    )
    assert second.parents == (first.id,)
    _same_content(second, expected)


def test_partition_input_no_retry_can_fix_fails_at_once(registry_url: str, tmp_path: Path) -> None:
    _files(tmp_path / "data", 3)
    dag = load_dag("dataver_many_writers", "bad_parts_dag")

    run = dag.test(run_conf={"folder": str(tmp_path / "data")})

    (ti,) = run.get_task_instances()
    assert run.state == DagRunState.FAILED
    assert ti.try_number == 1


def test_the_operators_take_a_part_through_partial_and_expand() -> None:
    from airflow.sdk import DAG

    with DAG("dataver_writers_parse", schedule=None) as dag:
        parts = DataverPartitionOperator(task_id="partition", source="/data", num_parts=3)
        DataverAddFilesOperator.partial(
            task_id="add", version_id="abc", dataset_path="x", dataver_conn_id="other"
        ).expand(part=parts.output)

    mapped = dag.get_task("add")
    assert mapped.partial_kwargs["dataver_conn_id"] == "other"
    assert "part" in mapped.expand_input.value
    assert "part" in DataverAddFilesOperator.template_fields
