"""``wait_for_version``: poll until a version is Final/Published; fail at once if it broke."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from prefect.logging import get_run_logger
from prefect.tasks import task

import dataver
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver.models import VersionInfo, VersionRef, version_id

_BROKEN = frozenset({dataver.State.FAILED, dataver.State.ABORTED})
TARGET_STATES = ("final", "published")


class VersionBrokenError(RuntimeError):
    """The watched version is Failed or Aborted, so it will never reach a target state."""


@dataclass(frozen=True)
class _Watch:
    """The version a wait is about: an id, ``project/name@version``, or the newest of a dataset."""

    version_id: str | None
    name: str | None
    project: str
    version: str | None
    states: tuple[str, ...]

    def describe(self) -> str:
        if self.version_id:
            return f"version {self.version_id}"
        what = f"{self.project}/{self.name}"
        return f"{what}@{self.version}" if self.version else f"newest version of {what}"

    def current(self, reg: dataver.Registry) -> dataver.Dataset | None:
        try:
            if self.version_id:
                return reg.get(self.version_id, states=None)
            if self.version:
                return reg.get(
                    name=self.name, project=self.project, version=self.version, states=None
                )
        except dataver.VersionNotFoundError:
            return None
        found = reg.list(project=self.project, name=self.name, states=None)
        return found[0] if found else None

    def check(self, reg: dataver.Registry) -> dataver.Dataset | None:
        """The version once in a target state; None while not yet; raises if it broke."""
        ds = self.current(reg)
        if ds is None:
            return None
        if ds.state.value in self.states:
            return ds
        if ds.state in _BROKEN:
            raise VersionBrokenError(
                f"{self.describe()}: {ds.id} ({ds.uri}) is {ds.state.value}"
                + (f": {ds.error}" if ds.error else "")
            )
        return None


def _watch(
    version: VersionRef | None,
    name: str | None,
    project: str,
    version_string: str | None,
    states: tuple[str, ...] | list[str],
) -> _Watch:
    if version is None and name is None:
        raise ValueError("wait_for_version needs version_id or name")
    valid = {s.value for s in dataver.State}
    wanted = tuple(str(s).lower() for s in states)
    if not wanted or set(wanted) - valid:
        raise ValueError(f"states must be among {sorted(valid)}, got {list(states)}")
    vid = version_id(version) if version is not None else None
    return _Watch(vid, name, project, version_string, wanted)


def _timed_out(watch: _Watch, timeout_seconds: float) -> TimeoutError:
    return TimeoutError(
        f"{watch.describe()} did not reach {'/'.join(watch.states)} in {timeout_seconds:g}s"
    )


@task(name="dataver-wait-for-version")
def wait_for_version(
    registry: RegistryLike,
    version_id: VersionRef | None = None,
    name: str | None = None,
    project: str = "default",
    version: str | None = None,
    states: tuple[str, ...] | list[str] = TARGET_STATES,
    timeout_seconds: float = 3600.0,
    poll_seconds: float = 5.0,
) -> VersionInfo:
    """Wait until a version is Final or Published (or in ``states``).

    Watches ``version_id``; or ``project/name`` at ``version``; or else the newest version
    of ``project/name`` (whatever its state).

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        name: Dataset name, instead of ``version_id``.
        project: Dataset project.
        version: A version string of ``name``.
        states: Target states.
        timeout_seconds: Give up after this long.
        poll_seconds: Time between two reads of the registry.

    Returns:
        The version, in a target state.

    Raises:
        VersionBrokenError: The version is Failed or Aborted (raised at once).
        TimeoutError: It did not get there in time.

    Example:
        ```python
        ready = wait_for_version(registry, ds, timeout_seconds=600)
        ```
    """
    watch = _watch(version_id, name, project, version, states)
    reg = open_registry(registry)
    deadline = time.monotonic() + timeout_seconds
    while (ds := watch.check(reg)) is None:
        if time.monotonic() >= deadline:
            raise _timed_out(watch, timeout_seconds)
        time.sleep(poll_seconds)
    get_run_logger().info("%s is %s", ds.uri, ds.state.value)
    return VersionInfo.from_dataset(ds)


@task(name="dataver-wait-for-version-async")
async def await_for_version(
    registry: RegistryLike,
    version_id: VersionRef | None = None,
    name: str | None = None,
    project: str = "default",
    version: str | None = None,
    states: tuple[str, ...] | list[str] = TARGET_STATES,
    timeout_seconds: float = 3600.0,
    poll_seconds: float = 5.0,
) -> VersionInfo:
    """Async twin of :func:`wait_for_version`: sleeps without blocking the event loop."""
    watch = _watch(version_id, name, project, version, states)
    reg = await asyncio.to_thread(open_registry, registry)
    deadline = time.monotonic() + timeout_seconds
    while (ds := await asyncio.to_thread(watch.check, reg)) is None:
        if time.monotonic() >= deadline:
            raise _timed_out(watch, timeout_seconds)
        await asyncio.sleep(poll_seconds)
    get_run_logger().info("%s is %s", ds.uri, ds.state.value)
    return VersionInfo.from_dataset(ds)
