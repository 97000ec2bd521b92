"""Many writers, one version, under a live Airflow (``live.py``): mapped tasks run as separate
task processes of the LocalExecutor, each a writer of the same Uploading version.

``live_dags/live_many_writers.py`` splits a folder of 400 files into 4 parts and adds each
from a mapped task; two of them meet before adding, so two writers work at once. The
example ``examples/dags/airflow_many_writers.py`` runs too, triggered by hand.
"""

from __future__ import annotations

import datetime as dt
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dataver

if TYPE_CHECKING:
    from .live import LiveAirflow

# NOTE: the first live test of the session also starts the live Airflow (bounded there).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DAG_ID = "dataver_live_many_writers"
FILES = 400
WORKERS = 4


def _export(root: Path, count: int = FILES) -> dict[str, bytes]:
    """``count`` small files in ten sub-folders: dataset path -> bytes."""
    made = {}
    for number in range(count):
        rel = f"g{number % 10}/part-{number:05d}.bin"
        data = bytes([number % 251]) * (10 + number % 90) + f"#{number}\n".encode()
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        made[rel] = data
    return made


def _run(
    live: LiveAirflow, run_id: str, conf: dict[str, Any], dag_id: str = DAG_ID
) -> dict[str, dict[str, Any]]:
    """Trigger, wait (bounded) and assert the run and its tasks succeeded; its task instances."""
    live.trigger_rest(dag_id, run_id, conf)
    state = live.wait_for_run(dag_id, run_id, timeout=300)
    tis = live.task_instances(dag_id, run_id)
    assert state == "success", ({k: ti["state"] for k, ti in tis.items()}, live.tails())
    assert {ti["state"] for ti in tis.values()} == {"success"}
    return tis


def _mapped(tis: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``add`` task instances, by map index (which must be 0 .. WORKERS - 1)."""
    mapped = sorted((ti for ti in tis.values() if ti["task_id"] == "add"), key=_index)
    assert [ti["map_index"] for ti in mapped] == list(range(WORKERS))
    return mapped


def _index(ti: dict[str, Any]) -> int:
    return int(ti["map_index"])


def _overlapping(mapped: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs of map indexes whose tasks ran at the same time (start/end from the API)."""
    spans = {
        ti["map_index"]: (
            dt.datetime.fromisoformat(ti["start_date"]),
            dt.datetime.fromisoformat(ti["end_date"]),
        )
        for ti in mapped
    }
    return [
        (a, b)
        for a, b in combinations(sorted(spans), 2)
        if spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
    ]


def _has_exactly(ds: dataver.Dataset, expected: dict[str, bytes]) -> None:
    """``ds`` holds each expected file once, with its bytes, and nothing else."""
    assert ds.list_files() == sorted(expected)
    assert ds.stats.files == len(expected)
    assert ds.stats.logical_bytes == sum(map(len, expected.values()))
    local = Path(ds.get_local_copy())
    assert {name: (local / name).read_bytes() for name in expected} == expected


def test_four_mapped_tasks_build_one_version_at_once(live_airflow: Any, tmp_path: Path) -> None:
    live: LiveAirflow = live_airflow
    live.wait_for_dags(DAG_ID)
    expected = _export(tmp_path / "export")
    conf = {"name": "writers", "folder": str(tmp_path / "export"), "barrier": str(tmp_path / "b")}

    tis = _run(live, "many-1", conf)

    mapped = _mapped(tis)
    assert [ti["try_number"] for ti in mapped] == [1] * WORKERS
    assert _overlapping(mapped), [(ti["start_date"], ti["end_date"]) for ti in mapped]
    listed = live.xcom(DAG_ID, "many-1", "writers")
    assert sorted(w["name"] for w in listed) == [f"{DAG_ID}/many-1/add/{i}" for i in range(WORKERS)]
    assert [w["files"] for w in listed] == [FILES // WORKERS] * WORKERS
    assert sum(w["bytes"] for w in listed) == sum(map(len, expected.values()))
    version = live.xcom(DAG_ID, "many-1", "create")["id"]
    ds = dataver.Registry(live.registry_url).get(version)
    assert ds.state is dataver.State.PUBLISHED
    _has_exactly(ds, expected)


def test_a_retried_mapped_task_replaces_its_first_try(live_airflow: Any, tmp_path: Path) -> None:
    live: LiveAirflow = live_airflow
    live.wait_for_dags(DAG_ID)
    expected = _export(tmp_path / "export")
    conf = {
        "name": "retried",
        "folder": str(tmp_path / "export"),
        "barrier": str(tmp_path / "b"),
        "fail_once": str(tmp_path / "failed-once"),
    }

    tis = _run(live, "retried-1", conf)

    assert (tmp_path / "failed-once").exists()
    assert [ti["try_number"] for ti in _mapped(tis)] == [1, 2, 1, 1]
    listed = live.xcom(DAG_ID, "retried-1", "writers")
    assert len(listed) == WORKERS  # the retry is the same writer: no fifth contribution
    assert sum(w["files"] for w in listed) == FILES
    ds = dataver.Registry(live.registry_url).get(live.xcom(DAG_ID, "retried-1", "create")["id"])
    assert ds.state is dataver.State.PUBLISHED
    assert not [name for name in ds.list_files() if name.startswith("stale/")]
    _has_exactly(ds, expected)


def test_the_many_writers_example_runs_when_triggered_by_hand(
    live_airflow: Any, tmp_path: Path
) -> None:
    live: LiveAirflow = live_airflow
    dag_id = "dataver_many_writers"
    live.wait_for_dags(dag_id)
    live.unpause(dag_id)
    conf = {"workdir": str(tmp_path / "work"), "files": FILES, "workers": WORKERS}

    tis = _run(live, "by-hand", conf, dag_id)

    assert len(_mapped(tis)) == WORKERS
    ds = dataver.Registry(live.registry_url).get(live.xcom(dag_id, "by-hand", "create")["id"])
    assert ds.state is dataver.State.PUBLISHED
    (export,) = (tmp_path / "work" / "shards").iterdir()
    _has_exactly(
        ds,
        {
            p.relative_to(export).as_posix(): p.read_bytes()
            for p in export.rglob("*")
            if p.is_file()
        },
    )
