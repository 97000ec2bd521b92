"""Triggers: ``DataverStateTrigger`` (a version reaches a state) and ``DataverPublishedTrigger``
(a new version is published; for asset watchers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

import dataver
from dataver.errors import StorageError
from dataver_airflow.assets import WATCHED_KEY, claim_key, version_payload, watch_key
from dataver_airflow.hooks.dataver import DataverHook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Mapping


def check_target_states(states: Iterable[str | dataver.State] | str) -> tuple[str, ...]:
    """The state names, checked as :class:`dataver.Watch` checks them (when a DAG is parsed).

    Raises:
        ValueError: An unknown state (the message names the states), or none at all.
    """
    probe = dataver.Watch(name="-", states=(states,) if isinstance(states, str) else tuple(states))
    return tuple(state.value for state in probe.states)


class DataverStateTrigger(BaseTrigger):
    """Poll a dataver registry until the watched version is in one of ``target_states``.

    Fires ``{"status": "success", "version_id": <id>}`` when it is, or
    ``{"status": "error", "message": ...}`` when the version Failed, was Aborted or deleted
    (:class:`dataver.VersionBrokenError`), or the registry cannot be read. Each check is
    :meth:`dataver.Watch.check`, run in a worker thread; the registry is closed when the
    trigger ends (or is cancelled).

    Args: as :class:`~dataver_airflow.sensors.DataverStateSensor`, plus ``poll_interval``
    (seconds between checks).
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        project: str = "default",
        version: str | None = None,
        version_id: str | None = None,
        target_states: Iterable[str] = ("final", "published"),
        newer_than: str | None = None,
        dataver_conn_id: str = DataverHook.default_conn_name,
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.name = name
        self.project = project
        self.version = version
        self.version_id = version_id
        self.target_states = check_target_states(target_states)
        self.newer_than = newer_than
        self.dataver_conn_id = dataver_conn_id
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "name": self.name,
                "project": self.project,
                "version": self.version,
                "version_id": self.version_id,
                "target_states": list(self.target_states),
                "newer_than": self.newer_than,
                "dataver_conn_id": self.dataver_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    def watch(self) -> dataver.Watch:
        """The :class:`dataver.Watch` this trigger (and the sensor that defers to it) checks."""
        return dataver.Watch(
            version_id=self.version_id or None,
            name=self.name,
            project=self.project,
            version=self.version or None,
            newer_than=self.newer_than or None,
            states=self.target_states,  # type: ignore[arg-type]
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self._outcome())

    async def _outcome(self) -> dict[str, Any]:
        try:
            watch = self.watch()
            hook = DataverHook(dataver_conn_id=self.dataver_conn_id)
            with await asyncio.to_thread(hook.get_registry) as registry:
                while (ds := await asyncio.to_thread(watch.check, registry)) is None:
                    self.log.info("%s is not %s yet", watch.describe(), watch.wanted())
                    await asyncio.sleep(self.poll_interval)
        except dataver.VersionBrokenError as exc:
            return {"status": "error", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 - reported to the task as an error event
            return {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        self.log.info("%s: %s is %s", watch.describe(), ds.id, ds.state.value)
        return {"status": "success", "version_id": ds.id}


class DataverPublishedTrigger(BaseEventTrigger):
    """Fires once for every version of ``project/name`` published after it started watching.

    For event-driven scheduling: put it in an :class:`~airflow.sdk.AssetWatcher` of the
    dataset's asset, and Airflow turns each event into an asset event that runs the DAGs
    scheduled on the asset.

    Each event's payload is :func:`~dataver_airflow.assets.version_payload` of the published
    version; Airflow stores it under ``extra["payload"]`` of the asset event, where the
    provider's operators put theirs too.

    **Across restarts.** Airflow restarts a watcher's trigger when the triggerer restarts or
    moves it, and when its DAG is paused and unpaused. The trigger keeps its high-water mark
    in the asset's state store (Airflow's ``asset_state_store``): the versions published
    after the moment it first started that it has handled. A restarted trigger goes on from
    there, so a version published while it was down fires when it is back, and none fires
    twice. Versions already published when the watch first starts do not fire, unless
    ``since`` (an ISO 8601 timestamp) says to fire for every version published after that
    moment. (Without a state store, as when ``run()`` is called outside a triggerer, the mark
    lives in memory only.)

    **With producer DAGs.** A version an operator of this deployment publishes is announced
    by that operator, which claims it in the asset's state store before publishing: the
    watcher skips it, so a consumer runs once per version. Storage errors (an S3 outage) are
    logged and the watch goes on.

    Args:
        name: Dataset name.
        project: Dataset project.
        since: Fire for versions published after this moment instead of after the start.
        dataver_conn_id: The Airflow connection of the registry.
        poll_interval: Seconds between two looks at the registry.

    Example::

        trigger = DataverPublishedTrigger(name="labels", project="vision")
        labels = Asset(
            "dataver://vision/labels", watchers=[AssetWatcher(name="labels", trigger=trigger)]
        )
    """

    def __init__(
        self,
        *,
        name: str,
        project: str = "default",
        since: str | None = None,
        dataver_conn_id: str = DataverHook.default_conn_name,
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.name = name
        self.project = project
        self.since = since
        self.dataver_conn_id = dataver_conn_id
        self.poll_interval = float(poll_interval)
        if since is not None:
            _parse_time(since)  # NOTE: refuse a bad timestamp when the DAG is parsed

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "name": self.name,
                "project": self.project,
                "since": self.since,
                "dataver_conn_id": self.dataver_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = DataverHook(dataver_conn_id=self.dataver_conn_id)
        store = _Store(getattr(self, "asset_state_store", None), self.log)
        key = watch_key(self.project, self.name, self.since)
        mark: Mark | None = None
        try:
            while True:
                fresh: list[dataver.Dataset] = []
                try:
                    registry = await asyncio.to_thread(hook.get_registry)  # NOTE: opened once
                    published = await asyncio.to_thread(
                        published_versions, registry, self.project, self.name
                    )
                    if mark is None:
                        mark = await self._starting_mark(store, key, published)
                    fresh = mark.fresh(published)
                except StorageError as exc:
                    # NOTE: a watcher runs for months: a storage outage must not end it.
                    self.log.warning("Cannot read the dataver registry (%s); trying again", exc)
                for ds in fresh:
                    claimed = await store.get(claim_key(ds.id))
                    if claimed is None:
                        self.log.info("%s was published", ds.uri)
                        yield TriggerEvent(published_payload(ds))
                    else:
                        self.log.info("%s was published and announced by %s", ds.uri, claimed)
                    mark = (mark or Mark(after=published_time(ds))).add(ds)
                    await store.set(key, mark.to_json())
                    if claimed is not None:
                        await store.delete(claim_key(ds.id))
                await asyncio.sleep(self.poll_interval)
        finally:
            hook.close()  # NOTE: the watch's one registry, when the triggerer ends or cancels it

    async def _starting_mark(
        self, store: _Store, key: str, published: list[dataver.Dataset]
    ) -> Mark:
        """The stored mark of this watch; else a new one (from ``since``, or from now)."""
        await store.set(WATCHED_KEY, {"project": self.project, "name": self.name})
        stored = await store.get(key)
        if stored is not None:
            try:
                mark = Mark.from_json(stored)
            except (KeyError, TypeError, ValueError) as exc:
                self.log.warning("Ignoring the unreadable mark %r: %s", stored, exc)
            else:
                self.log.info(
                    "Resuming the watch of %s/%s after %s",
                    self.project,
                    self.name,
                    mark.after.isoformat(),
                )
                return mark
        if self.since:
            mark = Mark(after=_parse_time(self.since))
        else:
            # NOTE: what is published already is old news.
            mark = Mark(after=datetime.now(timezone.utc) - LOOKBACK)
            for ds in published:
                mark = mark.add(ds)
        await store.set(key, mark.to_json())
        return mark


# How far back a watch keeps the ids it has handled: a version whose publication lands in the
# registry later than its timestamp says (clock skew, a slow write) is still caught.
LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True)
class Mark:
    """How far a watch has looked: versions published after ``after`` fire unless ``seen``.

    ``seen`` maps the ids handled (fired or claimed) to their publication times; entries
    older than :data:`LOOKBACK` before the newest are folded into ``after``.
    """

    after: datetime
    seen: Mapping[str, datetime] = field(default_factory=dict)

    def fresh(self, published: Iterable[dataver.Dataset]) -> list[dataver.Dataset]:
        """The published versions to handle, oldest publication first."""
        return [
            ds for ds in published if published_time(ds) > self.after and ds.id not in self.seen
        ]

    def add(self, ds: dataver.Dataset) -> Mark:
        """This mark with ``ds`` handled."""
        seen = {**self.seen, ds.id: published_time(ds)}
        after = max(self.after, max(seen.values()) - LOOKBACK)
        return Mark(after, {vid: at for vid, at in seen.items() if at > after})

    def to_json(self) -> dict[str, Any]:
        return {
            "after": self.after.isoformat(),
            "seen": {vid: at.isoformat() for vid, at in self.seen.items()},
        }

    @classmethod
    def from_json(cls, value: Any) -> Mark:
        return cls(
            after=_parse_time(value["after"]),
            seen={str(vid): _parse_time(at) for vid, at in dict(value["seen"]).items()},
        )


class _Store:
    """The watched asset's state store (``BaseEventTrigger.asset_state_store``), or memory.

    Errors are logged, never raised: the watch goes on with what it has in memory.
    """

    def __init__(self, accessor: Any, log: Any) -> None:
        self._accessor = accessor
        self._memory: dict[str, Any] = {}
        self._log = log

    async def get(self, key: str) -> Any:
        if self._accessor is None:
            return self._memory.get(key)
        try:
            return await self._accessor.aget(key)
        except Exception as exc:  # noqa: BLE001 - the API server may be away for a while
            self._log.warning("Cannot read %s from the asset's state store: %s", key, exc)
            return self._memory.get(key)

    async def set(self, key: str, value: Any) -> None:
        self._memory[key] = value
        if self._accessor is not None:
            try:
                await self._accessor.aset(key, value)
            except Exception as exc:  # noqa: BLE001
                self._log.warning("Cannot write %s to the asset's state store: %s", key, exc)

    async def delete(self, key: str) -> None:
        self._memory.pop(key, None)
        if self._accessor is not None:
            try:
                await self._accessor.adelete(key)
            except Exception as exc:  # noqa: BLE001
                self._log.warning("Cannot delete %s from the asset's state store: %s", key, exc)


def published_time(ds: dataver.Dataset) -> datetime:
    """When ``ds`` was published (its creation time for a record without one)."""
    return ds.record.published_at or ds.created_at


def published_payload(ds: dataver.Dataset) -> dict[str, Any]:
    """The event payload of a published version (``assets.version_payload``)."""
    return version_payload(ds)


def published_versions(
    registry: dataver.Registry, project: str, name: str
) -> list[dataver.Dataset]:
    """Published versions of ``project/name``, oldest publication first."""
    versions = registry.list(project=project, name=name, states=["published"])
    return sorted(versions, key=lambda ds: (published_time(ds), ds.id))


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"since must be an ISO 8601 timestamp, got {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
