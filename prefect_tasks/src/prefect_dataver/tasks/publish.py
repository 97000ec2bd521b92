"""``publish_version``: make a Final version Published, then announce it."""

from __future__ import annotations

import asyncio

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._announce import announce
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver.models import VersionInfo, VersionRef, version_id


def _publish_version(registry: RegistryLike, version: VersionRef) -> VersionInfo:
    reg = open_registry(registry)
    ds = reg.get(version_id(version), states=None)
    ds.publish()
    get_run_logger().info("Published %s (%s)", ds.uri, ds.id)
    announce(registry, ds, finalized=False, published=True)
    return VersionInfo.from_dataset(ds)


@task(name="dataver-publish-version")
def publish_version(registry: RegistryLike, version_id: VersionRef) -> VersionInfo:
    """Publish a Final version: read-only for good.

    Emits ``dataver.version.published`` and refreshes the version's artifacts.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).

    Returns:
        The Published version.

    Raises:
        dataver.InvalidTransitionError: The version is not Final.

    Example:
        ```python
        ds = publish_version(registry, ds)
        ```
    """
    return _publish_version(registry, version_id)


@task(name="dataver-publish-version-async")
async def apublish_version(registry: RegistryLike, version_id: VersionRef) -> VersionInfo:
    """Async twin of :func:`publish_version`."""
    return await asyncio.to_thread(_publish_version, registry, version_id)
