"""``DataverPublishedTrigger``: an asset watcher trigger, run with asyncio on a real registry."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
from airflow.triggers.base import BaseEventTrigger

import dataver
from dataver_airflow.hooks import DataverHook
from dataver_airflow.triggers import DataverPublishedTrigger

from .conftest import _s3server, load_dag

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow.triggers.base import TriggerEvent


def _published(registry: dataver.Registry, name: str = "watched") -> dataver.Dataset:
    ds = registry.create(name, project="tests")
    ds.finalize()
    ds.publish()
    return ds


def test_trigger_is_an_event_trigger_that_serializes_to_a_round_trip() -> None:
    trigger = DataverPublishedTrigger(
        name="labels",
        project="vision",
        since="2026-01-01T00:00:00+00:00",
        dataver_conn_id="other",
        poll_interval=5,
    )
    assert isinstance(trigger, BaseEventTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "dataver_airflow.triggers.dataver.DataverPublishedTrigger"
    assert kwargs == {
        "name": "labels",
        "project": "vision",
        "since": "2026-01-01T00:00:00+00:00",
        "dataver_conn_id": "other",
        "poll_interval": 5.0,
    }
    assert DataverPublishedTrigger(**kwargs).serialize() == (classpath, kwargs)
    # NOTE: event triggers are told apart by this hash: the same kwargs, the same watcher.
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(
        classpath, dict(kwargs)
    )


def test_a_bad_since_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        DataverPublishedTrigger(name="x", since="yesterday")


def test_trigger_fires_once_per_version_published_after_since(registry_url: str) -> None:
    registry = dataver.Registry(registry_url)
    _published(registry)  # before `since`: old news
    since = datetime.now(timezone.utc).isoformat()
    first = _published(registry)
    second = registry.create("watched", project="tests")
    second.finalize()  # Final is not Published: no event yet
    trigger = DataverPublishedTrigger(name="watched", project="tests", since=since, poll_interval=0)

    async def watch() -> list[TriggerEvent]:
        events: AsyncIterator[TriggerEvent] = trigger.run()
        try:
            got = [await anext(events)]
            await asyncio.to_thread(second.publish)  # published while the trigger watches
            got.append(await anext(events))
            return got
        finally:
            await events.aclose()

    got = asyncio.run(asyncio.wait_for(watch(), timeout=30))

    assert [e.payload["id"] for e in got] == [first.id, second.reload().id]
    payload = got[1].payload
    assert payload["state"] == "published"
    assert payload["uri"] == second.uri
    assert payload["version"] == second.version
    assert payload["published_at"] == second.record.published_at.isoformat()
    assert set(payload["stats"]) >= {"files", "logical_bytes"}


def test_without_since_the_versions_published_before_the_start_are_old_news(
    registry_url: str,
) -> None:
    registry = dataver.Registry(registry_url)
    old = _published(registry)
    trigger = DataverPublishedTrigger(name="watched", project="tests", poll_interval=0)
    registry_seen = DataverHook().get_registry()

    seen = trigger.published_ids(registry_seen)  # what run() takes as its starting point
    new = _published(registry)

    assert seen == {old.id}
    assert [ds.id for ds in trigger.newly_published(registry_seen, seen, None)] == [new.id]


def test_airflow_registers_the_asset_watcher_trigger() -> None:
    from airflow.models.dag import DagModel
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    watched = load_dag("dataver_assets", "watched_dag")
    watched.test(
        mark_success_pattern=".*"
    )  # puts the bundle's DAGs, their assets and watchers in the metadata DB
    with create_session() as session:
        session.execute(
            update(DagModel).where(DagModel.dag_id == watched.dag_id).values(is_paused=False)
        )
    watched.test(
        mark_success_pattern=".*"
    )  # NOTE: Airflow registers the watchers' triggers of unpaused DAGs only

    with create_session() as session:
        found = [
            trigger.kwargs
            for trigger in session.scalars(select(Trigger))
            if trigger.classpath.endswith("DataverPublishedTrigger")
        ]
    assert found
    assert found[0]["name"] == "watched"


def test_trigger_keeps_watching_through_a_storage_outage(
    s3_registry_url: str, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = _s3server().FaultProxy(moto_server.url)
    conn = {
        "conn_type": "dataver",
        "login": "testing-key-id",
        "password": "testing-secret-key",
        "extra": {"registry": s3_registry_url, "endpoint_url": proxy.url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "1")  # give up on the first 503
    registry = dataver.Registry(s3_registry_url)  # NOTE: straight to moto, never failing
    registry.create("seed", project="tests").finalize()  # the registry exists
    since = datetime.now(timezone.utc).isoformat()
    trigger = DataverPublishedTrigger(name="watched", project="tests", since=since, poll_interval=0)
    proxy.reset(_s3server().Faults(rate=1.0, kinds=("503",)))  # S3 answers nothing but 503

    async def watch() -> TriggerEvent:
        events: AsyncIterator[TriggerEvent] = trigger.run()
        first = asyncio.ensure_future(anext(events))
        try:
            while not proxy.injected:  # the trigger met the outage ...
                await asyncio.sleep(0.01)
            assert not first.done()  # ... and is still watching
            proxy.reset()  # the outage ends
            await asyncio.to_thread(_published, registry)
            return await first
        finally:
            first.cancel()
            await events.aclose()

    try:
        event = asyncio.run(asyncio.wait_for(watch(), timeout=60))
    finally:
        proxy.stop()

    assert event.payload["name"] == "watched"
    assert event.payload["state"] == "published"
