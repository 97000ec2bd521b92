"""``finalize_version``: seal an Uploading version (Final), then announce it."""

from __future__ import annotations

import asyncio

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._announce import announce
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver.hygiene import building, fail_task_versions
from prefect_dataver.models import VersionInfo, VersionRef, version_id


def _finalize_version(
    registry: RegistryLike, version: VersionRef, auto_upload: bool
) -> VersionInfo:
    reg = open_registry(registry)
    ds = reg.get(version_id(version), states=None)
    with building(reg, ds):
        ds.finalize(auto_upload=auto_upload)
    get_run_logger().info("Finalized %s (%s)", ds.uri, ds.id)
    announce(registry, ds, finalized=True, published=False)
    return VersionInfo.from_dataset(ds)


@task(name="dataver-finalize-version", on_failure=[fail_task_versions])
def finalize_version(
    registry: RegistryLike, version_id: VersionRef, auto_upload: bool = True
) -> VersionInfo:
    """Seal an Uploading version: state Final, content immutable, usable as a parent.

    Emits ``dataver.version.finalized``, materialises the dataset's asset and creates the
    version's artifacts.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        auto_upload: Upload pending content first (otherwise pending content is an error).

    Returns:
        The Final version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.
        dataver.PendingUploadError: Content is pending and ``auto_upload`` is False.

    Example:
        ```python
        ds = finalize_version(registry, ds)
        ```
    """
    return _finalize_version(registry, version_id, auto_upload)


@task(name="dataver-finalize-version-async", on_failure=[fail_task_versions])
async def afinalize_version(
    registry: RegistryLike, version_id: VersionRef, auto_upload: bool = True
) -> VersionInfo:
    """Async twin of :func:`finalize_version`."""
    return await asyncio.to_thread(_finalize_version, registry, version_id, auto_upload)
