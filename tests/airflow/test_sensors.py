"""``DataverStateSensor`` and ``DataverStateTrigger`` against a real local registry."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from airflow.utils.state import DagRunState, TaskInstanceState

import dataver
from dataver_airflow.sensors import DataverStateSensor
from dataver_airflow.triggers import DataverStateTrigger

from .conftest import load_dag

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Context
    from airflow.triggers.base import TriggerEvent


def _first_event(trigger: DataverStateTrigger) -> TriggerEvent:
    async def first() -> TriggerEvent:
        events = trigger.run()
        try:
            return await anext(events)
        finally:
            await events.aclose()

    return asyncio.run(asyncio.wait_for(first(), timeout=30))


def _new(registry_url: str, name: str) -> dataver.Dataset:
    return dataver.Registry(registry_url).create(name, project="tests")


def _record_checks(
    monkeypatch: pytest.MonkeyPatch, after: int = 0, then: Callable[[], object] | None = None
) -> list[str | None]:
    """Record what each ``dataver.Watch.check`` (sensor poke or trigger check) found: the
    version id, None (not yet) or ``"broken"``; call ``then`` once ``after`` checks."""
    found: list[str | None] = []
    check = dataver.Watch.check

    def recording(watch: dataver.Watch, registry: dataver.Registry) -> dataver.Dataset | None:
        try:
            ds = check(watch, registry)
        except dataver.VersionBrokenError:
            found.append("broken")
            raise
        found.append(ds.id if ds else None)
        if then is not None and len(found) == after:
            then()
        return ds

    monkeypatch.setattr(dataver.Watch, "check", recording)
    return found


def test_trigger_serializes_to_a_round_trip() -> None:
    trigger = DataverStateTrigger(
        name="n",
        project="p",
        version_id="a" * 32,
        target_states=["published"],
        newer_than="1.2.0",
        dataver_conn_id="other",
        poll_interval=3,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "dataver_airflow.triggers.dataver.DataverStateTrigger"
    again = DataverStateTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert kwargs["target_states"] == ["published"]
    assert kwargs["poll_interval"] == 3.0


def test_unknown_target_states_are_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="states are: uploading, failed, aborted, final"):
        DataverStateSensor(task_id="s", name="x", target_states=("done",))
    with pytest.raises(ValueError, match="states are"):
        DataverStateTrigger(name="x", target_states=["Finalised"])
    with pytest.raises(ValueError, match="at least one target state"):
        DataverStateSensor(task_id="s", name="x", target_states=())


def test_trigger_fires_success_for_a_final_version(registry_url: str) -> None:
    ds = _new(registry_url, "trig")
    ds.finalize()
    event = _first_event(DataverStateTrigger(version_id=ds.id, poll_interval=0))
    assert event.payload == {"status": "success", "version_id": ds.id}
    newest = _first_event(DataverStateTrigger(name="trig", project="tests", poll_interval=0))
    assert newest.payload == {"status": "success", "version_id": ds.id}


def test_trigger_fires_an_error_for_a_failed_version(registry_url: str) -> None:
    ds = _new(registry_url, "trig")
    ds.fail("disk full")
    event = _first_event(DataverStateTrigger(version_id=ds.id, poll_interval=0))
    assert event.payload["status"] == "error"
    assert ds.id in event.payload["message"]
    assert "failed" in event.payload["message"]
    assert "disk full" in event.payload["message"]


def test_sensor_succeeds_on_a_final_version_and_returns_its_id(registry_url: str) -> None:
    ds = _new(registry_url, "ready")
    ds.finalize()
    dag = load_dag("dataver_sensors", "id_dag")

    run = dag.test(run_conf={"version_id": ds.id})

    assert run.state == DagRunState.SUCCESS
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    assert ti.xcom_pull(task_ids="wait") == ds.id


def test_sensor_fails_at_once_on_an_aborted_version(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _new(registry_url, "gone")
    ds.abort("cancelled upstream")
    checks = _record_checks(monkeypatch)
    dag = load_dag("dataver_sensors", "id_dag")  # timeout 60s, 2 retries

    run = dag.test(run_conf={"version_id": ds.id})

    assert run.state == DagRunState.FAILED
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.FAILED
    assert ti.try_number == 1  # AirflowFailException: no retries
    assert checks == ["broken"]  # one poke, and no wait for a version that can never be final


def test_sensor_fails_at_once_on_a_deleted_version(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _new(registry_url, "deleted")
    dataver.Registry(registry_url).delete(ds.id, force=True)  # Uploading: force
    checks = _record_checks(monkeypatch)

    run = load_dag("dataver_sensors", "id_dag").test(run_conf={"version_id": ds.id})

    assert run.state == DagRunState.FAILED
    (ti,) = run.get_task_instances()
    assert ti.try_number == 1
    assert checks == ["broken"]


def test_deferrable_sensor_completes_through_the_trigger(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _new(registry_url, "next")
    old.finalize()
    new = _new(registry_url, "next")  # Uploading when the sensor starts: it defers
    completions: list[dict[str, Any]] = []
    resume = DataverStateSensor.execute_complete

    def recording(self: DataverStateSensor, context: Context, event: dict[str, Any]) -> str:
        completions.append(event)
        return resume(self, context, event)

    monkeypatch.setattr(DataverStateSensor, "execute_complete", recording)
    # NOTE: the sensor's poke is check 1; the trigger's first check, check 2, finalizes it.
    checks = _record_checks(monkeypatch, after=2, then=new.finalize)
    dag = load_dag("dataver_sensors", "defer_dag")

    run = dag.test(run_conf={"name": "next", "newer_than": old.id})

    assert run.state == DagRunState.SUCCESS
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    assert checks[:2] == [None, None]  # neither the poke nor the trigger's first look found it
    assert checks[-1] == new.id
    assert completions == [{"status": "success", "version_id": new.id}]
    assert ti.xcom_pull(task_ids="wait") == new.id


def test_reschedule_sensor_frees_its_slot_between_pokes_and_then_succeeds(
    registry_url: str,
) -> None:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    ds = _new(registry_url, "later")  # Uploading: the first poke reschedules
    dag = load_dag("dataver_sensors", "resched_dag")
    finisher = threading.Thread(target=_finalize_once_rescheduled, args=(ds,), daemon=True)
    finisher.start()
    run = dag.test(run_conf={"version_id": ds.id})
    finisher.join(timeout=30)

    assert run.state == DagRunState.SUCCESS
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    assert ti.try_number == 1  # a reschedule is not a retry
    assert ti.xcom_pull(task_ids="wait") == ds.id
    with create_session() as session:
        reschedules = session.scalar(
            select(func.count()).select_from(TaskReschedule).where(TaskReschedule.ti_id == ti.id)
        )
    assert reschedules >= 1


def _finalize_once_rescheduled(ds: dataver.Dataset) -> None:
    """Finalize the version once the sensor has poked and given its slot back."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with create_session() as session:
            states = session.scalars(
                select(TaskInstance.state).where(TaskInstance.dag_id == "dataver_sensor_reschedule")
            ).all()
        if TaskInstanceState.UP_FOR_RESCHEDULE in states:
            ds.finalize()
            return
        time.sleep(0.05)
