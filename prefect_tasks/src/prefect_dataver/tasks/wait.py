"""``wait_for_version``: until a version is Final/Published; fail at once if it broke.

Over ``dataver.Registry.wait_for`` (and ``wait_for_async``): the rule of ``dataver.Watch``,
the same as the SDK's, the CLI's and Airflow's sensor.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from prefect.logging import get_run_logger
from prefect.tasks import task

from dataver import VersionBrokenError
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver.models import VersionInfo, VersionRef
from prefect_dataver.models import version_id as id_of

if TYPE_CHECKING:
    import dataver

__all__ = ["TARGET_STATES", "VersionBrokenError", "wait_for_version", "wait_for_version_async"]

TARGET_STATES = ("final", "published")


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
        dataver.VersionBrokenError: The version is Failed, Aborted or deleted (raised at once).
        dataver.WaitTimeoutError: It did not get there in time (a ``TimeoutError``).
        ValueError: Neither ``version_id`` nor ``name``, or an unknown state.

    Example:
        ```python
        ready = wait_for_version(registry, ds, timeout_seconds=600)
        ```
    """
    watch = _watch(version_id, name, project, version, states, timeout_seconds, poll_seconds)
    with open_registry(registry) as reg:
        return _ready(reg.wait_for(**watch))


@task(name="dataver-wait-for-version-async")
async def wait_for_version_async(
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
    watch = _watch(version_id, name, project, version, states, timeout_seconds, poll_seconds)
    reg = await asyncio.to_thread(open_registry, registry)
    try:
        return _ready(await reg.wait_for_async(**watch))
    finally:
        reg.close()


def _watch(
    version_id: VersionRef | None,
    name: str | None,
    project: str,
    version: str | None,
    states: tuple[str, ...] | list[str],
    timeout_seconds: float,
    poll_seconds: float,
) -> dict[str, Any]:
    return {
        "version_id": None if version_id is None else id_of(version_id),
        "name": name,
        "project": project,
        "version": version,
        "states": states,
        "timeout": timeout_seconds,
        "poll_interval": poll_seconds,
    }


def _ready(ds: dataver.Dataset) -> VersionInfo:
    get_run_logger().info("%s is %s", ds.uri, ds.state.value)
    return VersionInfo.from_dataset(ds)
