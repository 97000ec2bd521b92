"""DAG runs under a live Airflow (``live.py``): the examples triggered by hand, one event per
version, and tasks marked failed near their end, then cleared.

The runs are triggered as users trigger them: ``airflow dags trigger`` (the CLI) and
``POST /api/v2/dags/<id>/dagRuns`` (the REST API, what the UI's trigger button calls), with no
logical date; tasks are marked failed and cleared through the REST API.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

import dataver

if TYPE_CHECKING:
    from pathlib import Path

    from .live import LiveAirflow

# NOTE: the first test also starts the session's live Airflow (bounded by LiveAirflow.start).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _succeeded(live: LiveAirflow, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
    """Wait for the run; assert it and all its tasks succeeded; its task instances."""
    state = live.wait_for_run(dag_id, run_id, timeout)
    tis = live.task_instances(dag_id, run_id)
    assert state == "success", ({k: ti["state"] for k, ti in tis.items()}, live.tails())
    assert {ti["state"] for ti in tis.values()} == {"success"}
    return tis


def _events(live: LiveAirflow, uri: str) -> list[dict[str, Any]]:
    """``(payload, source task)`` of each of the asset's events, oldest first."""
    return [
        {**e["extra"]["payload"], "source_task_id": e["source_task_id"]}
        for e in live.asset_events(uri)
    ]


def _today(live: LiveAirflow, dag_id: str, run_id: str) -> str:
    run = live.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    assert run["logical_date"] is None  # a manual run of Airflow 3
    return str(dt.datetime.fromisoformat(run["run_after"]).date())


def test_the_example_dags_run_when_triggered_by_hand(live_airflow: Any, tmp_path: Path) -> None:
    live: LiveAirflow = live_airflow
    examples = (
        "dataver_ingest_train",
        "dataver_daily_increments",
        "dataver_features_producer",
        "dataver_features_consumer",
    )
    live.wait_for_dags(*examples)
    for dag_id in examples:
        live.unpause(dag_id)
    conf = {"workdir": str(tmp_path / "work")}

    train = live.trigger_cli("dataver_ingest_train", "by-hand-cli", conf)
    daily = live.trigger_rest("dataver_daily_increments", "by-hand-rest", conf)
    produce = live.trigger_cli("dataver_features_producer", "by-hand-cli", conf)

    _succeeded(live, "dataver_ingest_train", train)
    model = live.xcom("dataver_ingest_train", train, "train")
    registry = dataver.Registry(live.registry_url)
    trained_on = registry.get(model["dataset_version_id"])
    assert trained_on.metadata == {"ingest_date": _today(live, "dataver_ingest_train", train)}
    assert model["rows"] == 100

    _succeeded(live, "dataver_daily_increments", daily)
    day = _today(live, "dataver_daily_increments", daily)
    appended = registry.get(live.xcom("dataver_daily_increments", daily, "append_day")["id"])
    assert f"days/{day}/events.csv" in appended.list_files()
    assert appended.metadata == {"day": day}

    _succeeded(live, "dataver_features_producer", produce)
    published = live.xcom("dataver_features_producer", produce, "publish_features")["id"]

    def consumer_read_it() -> bool:
        runs = live.dag_runs("dataver_features_consumer")
        return any(
            r["state"] == "success"
            and live.xcom("dataver_features_consumer", r["dag_run_id"], "newest_features")
            == published
            for r in runs
        )

    live.wait_until(consumer_read_it, "the consumer reading the published version", 180, 2)


def test_a_dag_that_publishes_announces_each_version_once(
    live_airflow: Any, tmp_path: Path
) -> None:
    live: LiveAirflow = live_airflow
    live.wait_for_dags("dataver_live_steps", "dataver_live_steps_consumer")
    folder = _folder(tmp_path / "labels", {"a.csv": "1\n"})

    run_id = live.trigger_cli("dataver_live_steps", "steps-1", {"folder": str(folder)})
    _succeeded(live, "dataver_live_steps", run_id)
    version = live.xcom("dataver_live_steps", run_id, "create")["id"]

    # one event, from the publish step (finalize leaves it to publish) ...
    live.wait_until(lambda: _events(live, "dataver://live/steps"), "the asset event", 30)
    events = _events(live, "dataver://live/steps")
    assert [(e["id"], e["state"], e["source_task_id"]) for e in events] == [
        (version, "published", "publish")
    ]

    # ... so the DAG scheduled on the asset runs once for the version
    def consumer_runs() -> list[dict[str, Any]] | None:
        runs = live.dag_runs("dataver_live_steps_consumer")
        return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None

    runs = live.wait_until(consumer_runs, "the consumer's run", 120, 2)
    assert [r["state"] for r in runs] == ["success"]
    assert live.xcom("dataver_live_steps_consumer", runs[0]["dag_run_id"], "announced") == [version]

    # Clearing the whole run takes the sealed version over: no second version, no second event.
    live.api(
        "POST",
        "/dags/dataver_live_steps/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id, "only_failed": False},
    )
    live.wait_for_run("dataver_live_steps", run_id, 60, states=("queued", "running", "success"))
    _succeeded(live, "dataver_live_steps", run_id)
    versions = dataver.Registry(live.registry_url).list(project="live", name="steps", states=None)
    assert [v.id for v in versions] == [version]
    assert Counter(e["id"] for e in _events(live, "dataver://live/steps")) == {version: 1}
    # one event, so one consumer run (the scheduler makes a run from events, never more)
    assert len(live.dag_runs("dataver_live_steps_consumer")) == 1


def test_a_task_marked_failed_near_its_end_is_cleared_into_one_announced_version(
    live_airflow: Any, tmp_path: Path
) -> None:
    live: LiveAirflow = live_airflow
    live.wait_for_dags("dataver_live_hold")
    folder = _folder(tmp_path / "held", {"a.csv": "1\n"})
    hold = tmp_path / "hold"
    conf = {"folder": str(folder), "hold": str(hold)}
    dag_id, uri = "dataver_live_hold", "dataver://live/held"

    run_id = live.trigger_rest(dag_id, "held-1", conf)
    live.wait_until(hold.with_suffix(".reached").exists, "the task sealing its version", 180)
    (version,) = dataver.Registry(live.registry_url).list(project="live", name="held", states=None)
    assert version.state is dataver.State.FINAL

    # the user marks the task failed while it finishes
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/version"
    live.api("PATCH", path, json={"new_state": "failed"})
    assert live.wait_for_run(dag_id, run_id, 60) == "failed"
    (left,) = dataver.Registry(live.registry_url).list(project="live", name="held", states=None)
    assert (left.id, left.state) == (version.id, dataver.State.FINAL)  # sealed before the kill
    assert _events(live, uri) == []

    # clearing it takes the sealed version over, announces it once, and succeeds
    hold.with_suffix(".release").write_text("go")
    live.api(
        "POST",
        f"/dags/{dag_id}/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id, "task_ids": ["version"]},
    )
    live.wait_for_run(dag_id, run_id, 60, states=("queued", "running", "success"))
    tis = _succeeded(live, dag_id, run_id)
    assert tis["version"]["try_number"] == 2
    assert live.xcom(dag_id, run_id, "version", key="outcome") == "resumed"
    versions = dataver.Registry(live.registry_url).list(project="live", name="held", states=None)
    assert [(v.id, v.state) for v in versions] == [(version.id, dataver.State.FINAL)]
    live.wait_until(lambda: _events(live, uri), "the asset event", 30)
    assert [(e["id"], e["source_task_id"]) for e in _events(live, uri)] == [(version.id, "version")]
