"""``DataverStateSensor``: wait until a dataver version is Final/Published (or another state)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowFailException

import dataver
from dataver_airflow.hooks.dataver import DataverHook
from dataver_airflow.operators._base import VersionRef, version_id
from dataver_airflow.triggers.dataver import DataverStateTrigger, check_target_states

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context


class DataverStateSensor(BaseSensorOperator):
    """Wait until a dataset version is in one of ``target_states``; returns its id (XCom).

    The watched version is ``version_id``; or ``project/name`` at ``version``; or, with neither,
    the newest version of ``project/name`` (newer than ``newer_than`` when given: a version id,
    meaning created after it, or a version string, meaning a higher semantic version). Until
    such a version exists the sensor keeps waiting.

    A watched version that is Failed or Aborted (and not a target state), or a watched
    ``version_id`` that no longer exists (deleted), fails the task at once, without retries,
    naming the version, its state and its error. Each poke is :meth:`dataver.Watch.check`
    on a registry opened for the poke and closed after it.

    Args:
        name: Dataset name (not needed with ``version_id``).
        project: Dataset project.
        version: An exact version string of ``project/name``.
        version_id: A version id, or an upstream dataver operator's summary (its ``output``).
        target_states: States that end the wait (default Final or Published).
        newer_than: Only a version newer than this id or version string matches.
        dataver_conn_id: The Airflow connection of the registry.
        deferrable: Wait in the triggerer instead of a worker slot (default:
            ``[operators] default_deferrable``).
        poke_interval, timeout, mode, ...: as for every Airflow sensor.
    """

    template_fields = ("name", "project", "version", "version_id", "newer_than")

    def __init__(
        self,
        *,
        name: str | None = None,
        project: str = "default",
        version: str | None = None,
        version_id: VersionRef | None = None,
        target_states: Sequence[str] = ("final", "published"),
        newer_than: str | None = None,
        dataver_conn_id: str = DataverHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not name and not version_id:
            raise ValueError("DataverStateSensor needs name (and project) or version_id")
        if version is not None and version_id is not None:
            raise ValueError("give version or version_id, not both")
        self.name = name
        self.project = project
        self.version = version
        self.version_id = version_id
        self.target_states = check_target_states(target_states)
        self.newer_than = newer_than
        self.dataver_conn_id = dataver_conn_id
        self.deferrable = deferrable

    def _trigger(self) -> DataverStateTrigger:
        """The trigger the sensor defers to; its :meth:`~DataverStateTrigger.watch` is poked too."""
        return DataverStateTrigger(
            name=self.name,
            project=self.project,
            version=self.version or None,
            version_id=version_id(self.version_id) if self.version_id else None,
            target_states=self.target_states,
            newer_than=self.newer_than or None,
            dataver_conn_id=self.dataver_conn_id,
            poll_interval=self.poke_interval,
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        watch = self._trigger().watch()
        with DataverHook(dataver_conn_id=self.dataver_conn_id).get_registry() as registry:
            try:
                ds = watch.check(registry)
            except dataver.VersionBrokenError as exc:
                raise AirflowFailException(str(exc)) from exc
        if ds is None:
            self.log.info("Waiting for %s to be %s", watch.describe(), watch.wanted())
            return False
        self.log.info("%s: %s is %s", watch.describe(), ds.id, ds.state.value)
        return PokeReturnValue(is_done=True, xcom_value=ds.id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        self.defer(
            trigger=self._trigger(),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> str:
        """Resume after the trigger fired: the matched version id, or fail with its message."""
        if event.get("status") != "success":
            raise AirflowFailException(event.get("message") or f"dataver trigger failed: {event}")
        self.log.info("Version %s is ready", event["version_id"])
        return str(event["version_id"])
