"""Triggers: ``DataverStateTrigger`` (a version reaches a state) and ``DataverPublishedTrigger``
(a new version is published; for asset watchers)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

import dataver
from dataver.errors import StorageError
from dataver_airflow.assets import asset_extra
from dataver_airflow.hooks.dataver import DataverHook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable


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

    Each event's payload is the published version's asset extra (``id``, ``project``,
    ``name``, ``version``, ``state``, ``uri``, ``stats``) plus ``published_at``. Airflow stores
    it under ``extra["payload"]`` of the asset event.

    Versions already published when the trigger starts do not fire, unless ``since`` (an ISO
    8601 timestamp) says to fire for every version published after that moment. Storage
    errors (an S3 outage) are logged and the watch goes on.

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
        mark = _parse_time(self.since) if self.since else None
        seen: set[str] | None = None
        try:
            while True:
                try:
                    registry = await asyncio.to_thread(hook.get_registry)  # NOTE: opened once
                    if seen is None:
                        # NOTE: without `since`, what is published already is old news.
                        seen = (
                            set() if mark else await asyncio.to_thread(self.published_ids, registry)
                        )
                    fresh = await asyncio.to_thread(self.newly_published, registry, seen, mark)
                except StorageError as exc:
                    # NOTE: a watcher runs for months: a storage outage must not end it.
                    self.log.warning("Cannot read the dataver registry (%s); trying again", exc)
                    fresh = []
                for ds in fresh:
                    seen = (seen or set()) | {ds.id}
                    self.log.info("%s was published", ds.uri)
                    yield TriggerEvent(published_payload(ds))
                await asyncio.sleep(self.poll_interval)
        finally:
            hook.close()  # NOTE: the watch's one registry, when the triggerer ends or cancels it

    def published_ids(self, registry: dataver.Registry) -> set[str]:
        """Ids of the dataset's versions published now."""
        return {ds.id for ds in published_versions(registry, self.project, self.name)}

    def newly_published(
        self, registry: dataver.Registry, seen: set[str], mark: datetime | None
    ) -> list[dataver.Dataset]:
        """Published versions not in ``seen`` (and published after ``mark``), oldest first."""
        return [
            ds
            for ds in published_versions(registry, self.project, self.name)
            if ds.id not in seen
            and (mark is None or (ds.record.published_at or ds.created_at) > mark)
        ]


def published_payload(ds: dataver.Dataset) -> dict[str, Any]:
    """The event payload of a published version: its asset extra and ``published_at``."""
    published_at = ds.record.published_at
    return {**asset_extra(ds), "published_at": published_at.isoformat() if published_at else None}


def published_versions(
    registry: dataver.Registry, project: str, name: str
) -> list[dataver.Dataset]:
    """Published versions of ``project/name``, oldest publication first."""
    versions = registry.list(project=project, name=name, states=["published"])
    return sorted(versions, key=lambda ds: (ds.record.published_at or ds.created_at, ds.id))


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"since must be an ISO 8601 timestamp, got {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
