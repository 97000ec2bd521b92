"""``finalize_version``: seal an Uploading version (Final), then announce it."""

from __future__ import annotations

from typing import Literal

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._announce import announce
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._twins import async_twin
from prefect_dataver.hygiene import building
from prefect_dataver.models import VersionInfo, VersionRef


@task(name="dataver-finalize-version")
def finalize_version(
    registry: RegistryLike,
    version_id: VersionRef,
    auto_upload: bool = True,
    on_conflict: Literal["error", "writer-order"] = "error",
    wait_for_writers: float = 0.0,
) -> VersionInfo:
    """Seal an Uploading version: state Final, content immutable, usable as a parent.

    The content is the version's own changes plus every writer's committed contribution
    (mapped ``add_files`` / ``sync_folder`` task runs with ``part=`` or ``writer=``, or any
    other process), merged in one pass.

    Emits ``dataver.version.finalized``, materialises the dataset's asset and creates the
    version's artifacts.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        auto_upload: Upload pending content first (otherwise pending content is an error).
        on_conflict: Two writers gave a path different content: ``"error"`` (default: the
            task fails, naming the paths and writers) or ``"writer-order"`` (the content
            of the writer whose name sorts last wins).
        wait_for_writers: Seconds to wait for writers still at work (default 0: none may
            be). A killed writer stops counting once its lease expires.

    Returns:
        The Final version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.
        dataver.PendingUploadError: Content is pending and ``auto_upload`` is False.
        dataver.errors.WritersActiveError: Writers are still at work after ``wait_for_writers``
            (a ``dataver.ConflictError``).
        dataver.ConflictError: Writers gave paths different content
            (``on_conflict="error"``; its ``paths`` and ``writers`` name them).

    Example:
        ```python
        ds = finalize_version(registry, ds)
        ```
    """
    with open_registry(registry) as reg:
        with building(reg, version_id) as ds:
            ds.finalize(
                auto_upload=auto_upload, on_conflict=on_conflict, wait_for_writers=wait_for_writers
            )
        get_run_logger().info("Finalized %s (%s)", ds.uri, ds.id)
        announce(registry, ds, finalized=True, published=False)
        return VersionInfo.from_dataset(ds)


finalize_version_async = async_twin(finalize_version)
