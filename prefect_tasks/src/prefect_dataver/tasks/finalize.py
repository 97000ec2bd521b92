"""``finalize_version``: seal an Uploading version (Final), then announce it."""

from __future__ import annotations

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._announce import announce
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._twins import async_twin
from prefect_dataver.hygiene import building
from prefect_dataver.models import VersionInfo, VersionRef


@task(name="dataver-finalize-version")
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
    with open_registry(registry) as reg:
        with building(reg, version_id) as ds:
            ds.finalize(auto_upload=auto_upload)
        get_run_logger().info("Finalized %s (%s)", ds.uri, ds.id)
        announce(registry, ds, finalized=True, published=False)
        return VersionInfo.from_dataset(ds)


finalize_version_async = async_twin(finalize_version)
