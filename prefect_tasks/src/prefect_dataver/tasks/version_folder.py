"""``version_folder``: a folder as a new version in one step (create, sync, upload, finalize)."""

from __future__ import annotations

import asyncio
import os  # noqa: TC003 - Prefect reads task annotations at runtime
from typing import Any

from prefect.logging import get_run_logger
from prefect.tasks import task

import dataver
from prefect_dataver._announce import announce
from prefect_dataver._parents import Parents, parents_arg
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._run import find_resumable, provenance, resume_key
from prefect_dataver.cache import VersionFolderCache, find_reusable, folder_key
from prefect_dataver.hygiene import building, fail_task_versions
from prefect_dataver.models import VersionInfo

_RESUMABLE = ("uploading", "final", "published")


def _version_folder(
    registry: RegistryLike,
    name: str,
    project: str,
    folder: str | os.PathLike[str],
    dataset_path: str,
    parents: Parents,
    version: str | None,
    tags: list[str] | None,
    metadata: dict[str, Any] | None,
    publish: bool,
    reuse_unchanged: bool,
) -> VersionInfo:
    log = get_run_logger()
    reg = open_registry(registry)
    key = folder_key(folder, dataset_path, version, tags, metadata)
    if reuse_unchanged and (found := find_reusable(reg, name, project, parents, key)):
        log.info("%s is unchanged since %s (%s): reusing it", folder, found.uri, found.id)
        return _finish(registry, found, publish, built=False)
    # NOTE: a retry continues the version of its failed attempt; one that got as far as
    # Final (and then failed, e.g. writing artifacts) is only announced again.
    ds = find_resumable(reg, name, project, resume_key(), _RESUMABLE)
    if ds is not None:
        log.info("Resuming %s (%s) of an earlier attempt", ds.uri, ds.id)
    else:
        ds = reg.create(
            name,
            project=project,
            parents=parents_arg(parents),
            version=version,
            tags=tags,
            metadata=metadata,
            provenance={**provenance(), "folder_key": key},
        )
        log.info("Created %s (%s)", ds.uri, ds.id)
    if ds.state is not dataver.State.UPLOADING:
        return _finish(registry, ds, publish, built=True)
    with building(reg, ds):
        removed, added, modified = ds.sync_folder(folder, dataset_path)
        log.info("%d removed, %d added, %d modified", removed, added, modified)
        log.info("Uploaded %d new bytes", ds.upload())
        ds.finalize()
    return _finish(registry, ds, publish, built=True)


def _finish(
    registry: RegistryLike, ds: dataver.Dataset, publish: bool, *, built: bool
) -> VersionInfo:
    published = publish and ds.state is dataver.State.FINAL
    if published:
        ds.publish()
    if built or published:
        announce(registry, ds, finalized=built, published=published)
    get_run_logger().info("Version %s is %s", ds.uri, ds.state.value)
    return VersionInfo.from_dataset(ds)


@task(
    name="dataver-version-folder",
    task_run_name="version {project}/{name}",
    cache_policy=VersionFolderCache(),
    on_failure=[fail_task_versions],
)
def version_folder(
    registry: RegistryLike,
    name: str,
    project: str,
    folder: str | os.PathLike[str],
    dataset_path: str = "",
    parents: Parents = "latest",
    version: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    publish: bool = False,
    reuse_unchanged: bool = True,
) -> VersionInfo:
    """Version a folder in one step: create, sync the folder, upload, finalize (and publish).

    If the folder is unchanged since the dataset's newest version was built from it, that
    version is returned and nothing is created (see :mod:`prefect_dataver.cache`). A retry
    resumes the version of the failed attempt; when the task finally fails, the version is
    marked Failed.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        name: Dataset name.
        project: Dataset project.
        folder: The local folder to version.
        dataset_path: Where in the dataset the folder goes.
        parents: ``"latest"`` (default), version ids or ``VersionInfo`` objects, or None.
        version: A semantic version; by default the next patch version.
        tags: Tags of the version.
        metadata: A JSON object of user metadata.
        publish: Publish the version after finalizing it.
        reuse_unchanged: Return the existing version for an unchanged folder.

    Returns:
        The Final (or Published) version.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        dataver.DataverError: The registry refused a step.

    Example:
        ```python
        ds = version_folder("/data/registry", "images", "vision", "/exports/images")
        ```
    """
    return _version_folder(
        registry,
        name,
        project,
        folder,
        dataset_path,
        parents,
        version,
        tags,
        metadata,
        publish,
        reuse_unchanged,
    )


@task(
    name="dataver-version-folder-async",
    task_run_name="version {project}/{name}",
    cache_policy=VersionFolderCache(),
    on_failure=[fail_task_versions],
)
async def aversion_folder(
    registry: RegistryLike,
    name: str,
    project: str,
    folder: str | os.PathLike[str],
    dataset_path: str = "",
    parents: Parents = "latest",
    version: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    publish: bool = False,
    reuse_unchanged: bool = True,
) -> VersionInfo:
    """Async twin of :func:`version_folder`."""
    return await asyncio.to_thread(
        _version_folder,
        registry,
        name,
        project,
        folder,
        dataset_path,
        parents,
        version,
        tags,
        metadata,
        publish,
        reuse_unchanged,
    )
