"""``publish_version``: make a Final version Published, then announce it."""

from __future__ import annotations

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._announce import announce
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._twins import async_twin
from prefect_dataver.models import VersionInfo, VersionRef
from prefect_dataver.models import version_id as id_of


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
    with open_registry(registry) as reg:
        ds = reg.get(id_of(version_id), states=None)
        ds.publish()
        get_run_logger().info("Published %s (%s)", ds.uri, ds.id)
        announce(registry, ds, finalized=False, published=True)
        return VersionInfo.from_dataset(ds)


publish_version_async = async_twin(publish_version)
