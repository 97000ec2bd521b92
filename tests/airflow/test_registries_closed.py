"""The sensor, the triggers and the hook close every registry they open.

A triggerer runs for months and builds a registry per trigger run: the process's open file
descriptors and threads must stay flat however many runs it goes through.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import TYPE_CHECKING, Any

from airflow.sdk import PokeReturnValue

import dataver
from dataver_airflow.hooks import DataverHook
from dataver_airflow.operators import DataverGetOperator
from dataver_airflow.sensors import DataverStateSensor
from dataver_airflow.triggers import DataverPublishedTrigger, DataverStateTrigger

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.triggers.base import BaseTrigger, TriggerEvent

RUNS = 100
S3_RUNS = 20  # NOTE: each S3 run builds a boto3 client, which is slow; a leak shows in 20


def _first_event(trigger: BaseTrigger) -> TriggerEvent:
    async def first() -> TriggerEvent:
        events = trigger.run()
        try:
            return await anext(events)
        finally:
            await events.aclose()  # NOTE: what the triggerer does once it has the event

    return asyncio.run(asyncio.wait_for(first(), timeout=60))


def _in_use() -> tuple[int, int]:
    """Open file descriptors and live threads of this process."""
    return len(os.listdir("/proc/self/fd")), threading.active_count()


def _flat(step: Callable[[], Any], runs: int = RUNS) -> None:
    step()  # NOTE: once first, for what a process opens once (imports, loggers, pools)
    before = _in_use()
    for _ in range(runs):
        step()
    assert _in_use() == before


def _published(url: str, name: str) -> dataver.Dataset:
    with dataver.Registry(url) as registry:
        ds = registry.create(name, project="tests")
        ds.finalize()
        ds.publish()
        return ds


def test_the_state_trigger_closes_its_registry(any_registry_url: str) -> None:
    ds = _published(any_registry_url, "watched")
    trigger = DataverStateTrigger(version_id=ds.id, poll_interval=0)

    def step() -> None:
        assert _first_event(trigger).payload == {"status": "success", "version_id": ds.id}

    _flat(step, S3_RUNS if any_registry_url.startswith("s3://") else RUNS)


def test_the_published_trigger_closes_its_registry_when_it_ends(any_registry_url: str) -> None:
    ds = _published(any_registry_url, "watched")
    since = "2000-01-01T00:00:00+00:00"  # NOTE: the version above fires at once
    trigger = DataverPublishedTrigger(name="watched", project="tests", since=since, poll_interval=0)

    def step() -> None:
        assert _first_event(trigger).payload["id"] == ds.id

    _flat(step, S3_RUNS if any_registry_url.startswith("s3://") else RUNS)


def test_the_sensor_closes_the_registry_of_each_poke(registry_url: str) -> None:
    ds = _published(registry_url, "poked")
    sensor = DataverStateSensor(task_id="wait", version_id=ds.id)

    def step() -> None:
        done = sensor.poke({})  # type: ignore[arg-type]
        assert isinstance(done, PokeReturnValue)
        assert done.xcom_value == ds.id

    _flat(step)


def test_an_operator_closes_its_registry(registry_url: str) -> None:
    ds = _published(registry_url, "fetched")
    operator = DataverGetOperator(task_id="fetch", version_id=ds.id)
    _flat(lambda: operator.execute({}))  # type: ignore[arg-type]


def test_the_hook_closes_what_test_connection_opened(registry_url: str) -> None:
    _published(registry_url, "listed")

    def step() -> None:
        ok, message = DataverHook().test_connection()
        assert ok, message

    _flat(step)
