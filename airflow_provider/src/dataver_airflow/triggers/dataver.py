"""``DataverStateTrigger``: waits in the triggerer until a dataver version reaches a state."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from dataver_airflow._watch import VersionBrokenError, Watch, check_target_states
from dataver_airflow.hooks.dataver import DataverHook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence


class DataverStateTrigger(BaseTrigger):
    """Poll a dataver registry until the watched version is in one of ``target_states``.

    Fires ``{"status": "success", "version_id": <id>}`` when it is, or
    ``{"status": "error", "message": ...}`` when the version is Failed or Aborted (or the
    registry cannot be read). The blocking registry calls run in a worker thread.

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
        target_states: Sequence[str] = ("final", "published"),
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

    def _watch(self) -> Watch:
        return Watch(
            name=self.name,
            project=self.project,
            version=self.version,
            version_id=self.version_id,
            target_states=self.target_states,
            newer_than=self.newer_than,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = self._watch()
        hook = DataverHook(dataver_conn_id=self.dataver_conn_id)
        try:
            registry = await asyncio.to_thread(hook.get_registry)
            while True:
                ds = await asyncio.to_thread(watch.check, registry)
                if ds is not None:
                    self.log.info("%s: %s is %s", watch.describe(), ds.id, ds.state.value)
                    yield TriggerEvent({"status": "success", "version_id": ds.id})
                    return
                self.log.info(
                    "%s is not %s yet; next check in %ss",
                    watch.describe(),
                    " or ".join(self.target_states),
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        except VersionBrokenError as exc:
            yield TriggerEvent({"status": "error", "message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - reported to the task as an error event
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
