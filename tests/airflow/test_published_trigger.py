"""``DataverPublishedTrigger``: an asset watcher trigger, run with asyncio on a real registry."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
from airflow.triggers.base import BaseEventTrigger

import dataver
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


class FakeStateStore:
    """The asset state store the triggerer gives a watcher (``aget``/``aset``/``adelete``),
    kept in a dict: what survives a trigger's restart."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))  # NOTE: stored as JSON

    async def adelete(self, key: str) -> None:
        self.values.pop(key, None)


def _watcher(store: FakeStateStore | None = None, **kwargs: Any) -> DataverPublishedTrigger:
    trigger = DataverPublishedTrigger(name="watched", project="tests", poll_interval=0, **kwargs)
    trigger.asset_state_store = store  # type: ignore[assignment]  # NOTE: as the triggerer does
    return trigger


async def _stop(pending: Any, events: AsyncIterator[TriggerEvent]) -> None:
    """Cancel the pending ``anext`` and close the trigger, as the triggerer does."""
    pending.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await pending
    await events.aclose()


async def _until_started(store: FakeStateStore, events: AsyncIterator[TriggerEvent]) -> Any:
    """Start the watch (its first look at the registry); the pending next event."""
    pending = asyncio.ensure_future(anext(events))
    while not any(key.startswith("dataver:watch:") for key in store.values):
        await asyncio.sleep(0.01)
    return pending


def test_without_since_the_versions_published_before_the_start_are_old_news(
    registry_url: str,
) -> None:
    registry = dataver.Registry(registry_url)
    _published(registry)
    store = FakeStateStore()

    async def watch() -> TriggerEvent:
        events: AsyncIterator[TriggerEvent] = _watcher(store).run()
        pending = await _until_started(store, events)
        try:
            new = await asyncio.to_thread(_published, registry)
            event = await pending
            assert event.payload["id"] == new.id
            return event
        finally:
            await _stop(pending, events)

    asyncio.run(asyncio.wait_for(watch(), timeout=30))


def test_a_restarted_trigger_fires_for_what_was_published_while_it_was_down(
    registry_url: str,
) -> None:
    registry = dataver.Registry(registry_url)
    store = FakeStateStore()  # NOTE: Airflow's asset_state_store outlives a trigger

    async def first_watch() -> str:
        events: AsyncIterator[TriggerEvent] = _watcher(store).run()
        pending = await _until_started(store, events)
        try:
            seen = await asyncio.to_thread(_published, registry)
            assert (await pending).payload["id"] == seen.id
            # NOTE: the triggerer queues the event and asks for the next one at once: the
            # trigger then records the version as handled (after, not before, the event
            # left it: a trigger stopped in between fires it again rather than never).
            pending = asyncio.ensure_future(anext(events))
            while seen.id not in str(store.values):
                await asyncio.sleep(0.01)
            return seen.id
        finally:
            await _stop(pending, events)  # NOTE: the triggerer cancels it (restart, redistribution)

    async def second_watch() -> list[str]:
        events: AsyncIterator[TriggerEvent] = _watcher(store).run()
        try:
            got = [(await anext(events)).payload["id"]]
            later = await asyncio.to_thread(_published, registry)
            got.append((await anext(events)).payload["id"])
            assert got[-1] == later.id
            return got
        finally:
            await events.aclose()

    fired_first = asyncio.run(asyncio.wait_for(first_watch(), timeout=30))
    while_down = _published(registry)  # published while no trigger watched
    fired_second = asyncio.run(asyncio.wait_for(second_watch(), timeout=30))

    assert fired_second[0] == while_down.id  # not lost, and the first one not fired again
    assert fired_first not in fired_second


def test_a_version_claimed_by_its_publishing_task_is_not_announced_again(
    registry_url: str,
) -> None:
    from dataver_airflow.assets import WATCHED_KEY, claim_key

    registry = dataver.Registry(registry_url)
    store = FakeStateStore()

    async def watch() -> list[str]:
        events: AsyncIterator[TriggerEvent] = _watcher(store).run()
        pending = await _until_started(store, events)
        try:
            assert WATCHED_KEY in store.values  # what tells operators to claim
            claimed = registry.create("watched", project="tests")
            await asyncio.to_thread(claimed.finalize)
            # NOTE: what DataverPublishOperator / DataverVersionOperator do before publishing
            store.values[claim_key(claimed.id)] = {"dag_id": "producer", "task_id": "publish"}
            await asyncio.to_thread(claimed.publish)
            outsider = await asyncio.to_thread(_published, registry)
            event = await pending
            assert claim_key(claimed.id) not in store.values  # handled: the claim is dropped
            return [event.payload["id"], claimed.id, outsider.id]
        finally:
            await _stop(pending, events)

    fired, claimed, outsider = asyncio.run(asyncio.wait_for(watch(), timeout=30))
    assert fired == outsider != claimed


def test_the_mark_keeps_an_hour_of_ids_and_folds_the_rest() -> None:
    from datetime import timedelta

    from dataver_airflow.triggers.dataver import LOOKBACK, Mark

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)

    class Published:
        def __init__(self, vid: str, at: datetime) -> None:
            self.id = vid
            self.created_at = at
            self.record = type("Record", (), {"published_at": at})()

    early, late = Published("a", start + timedelta(minutes=1)), Published("b", start + 2 * LOOKBACK)
    mark = Mark(after=start).add(early)  # type: ignore[arg-type]
    assert mark.fresh([early, late]) == [late]  # type: ignore[list-item]
    mark = mark.add(late)  # type: ignore[arg-type]
    assert dict(mark.seen) == {"b": late.created_at}  # "a" is folded into `after`
    assert mark.after == late.created_at - LOOKBACK
    assert Mark.from_json(json.loads(json.dumps(mark.to_json()))) == mark


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
