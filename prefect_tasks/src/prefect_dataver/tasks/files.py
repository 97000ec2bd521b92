"""``add_files``, ``sync_folder``, ``remove_files``: change the files of an Uploading version.

A task that finally fails marks the version Failed (see :mod:`prefect_dataver.hygiene`).
"""

from __future__ import annotations

import asyncio
import os  # noqa: TC003 - Prefect reads task annotations at runtime

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver.hygiene import building, fail_task_versions
from prefect_dataver.models import VersionInfo, VersionRef, version_id


def _add_files(
    registry: RegistryLike,
    version: VersionRef,
    path: str | os.PathLike[str],
    dataset_path: str,
    wildcard: str | list[str] | None,
    recursive: bool,
) -> VersionInfo:
    reg = open_registry(registry)
    ds = reg.get(version_id(version), states=None)
    with building(reg, ds):
        count = ds.add_files(path, dataset_path, wildcard=wildcard, recursive=recursive)
    get_run_logger().info("Added %d files to %s", count, ds.uri)
    return VersionInfo.from_dataset(ds)


def _sync_folder(
    registry: RegistryLike, version: VersionRef, folder: str | os.PathLike[str], dataset_path: str
) -> VersionInfo:
    reg = open_registry(registry)
    ds = reg.get(version_id(version), states=None)
    with building(reg, ds):
        removed, added, modified = ds.sync_folder(folder, dataset_path)
    get_run_logger().info(
        "Synced %s: %d removed, %d added, %d modified", ds.uri, removed, added, modified
    )
    return VersionInfo.from_dataset(ds)


def _remove_files(
    registry: RegistryLike, version: VersionRef, pattern: str, recursive: bool
) -> VersionInfo:
    reg = open_registry(registry)
    ds = reg.get(version_id(version), states=None)
    with building(reg, ds):
        count = ds.remove_files(pattern, recursive=recursive)
    get_run_logger().info("Removed %d files from %s", count, ds.uri)
    return VersionInfo.from_dataset(ds)


@task(name="dataver-add-files", on_failure=[fail_task_versions])
def add_files(
    registry: RegistryLike,
    version_id: VersionRef,
    path: str | os.PathLike[str],
    dataset_path: str = "",
    wildcard: str | list[str] | None = None,
    recursive: bool = True,
) -> VersionInfo:
    """Add a local file, or a folder's files, to an Uploading version.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        path: A local file or folder.
        dataset_path: Folder inside the dataset ("" for the root).
        wildcard: Glob(s) selecting files (matched at any depth).
        recursive: Descend into sub-folders.

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.
        dataver.NotFoundError: ``path`` does not exist.

    Example:
        ```python
        ds = add_files(registry, ds, "/data/new", dataset_path="train")
        ```
    """
    return _add_files(registry, version_id, path, dataset_path, wildcard, recursive)


@task(name="dataver-add-files-async", on_failure=[fail_task_versions])
async def aadd_files(
    registry: RegistryLike,
    version_id: VersionRef,
    path: str | os.PathLike[str],
    dataset_path: str = "",
    wildcard: str | list[str] | None = None,
    recursive: bool = True,
) -> VersionInfo:
    """Async twin of :func:`add_files`."""
    return await asyncio.to_thread(
        _add_files, registry, version_id, path, dataset_path, wildcard, recursive
    )


@task(name="dataver-sync-folder", on_failure=[fail_task_versions])
def sync_folder(
    registry: RegistryLike,
    version_id: VersionRef,
    folder: str | os.PathLike[str],
    dataset_path: str = "",
) -> VersionInfo:
    """Make ``dataset_path`` of an Uploading version mirror a local folder.

    Files missing from the folder are removed from the version, new ones added, changed
    ones replaced.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        folder: The local folder.
        dataset_path: Folder inside the dataset ("" for the root).

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.

    Example:
        ```python
        ds = sync_folder(registry, ds, "/data/export")
        ```
    """
    return _sync_folder(registry, version_id, folder, dataset_path)


@task(name="dataver-sync-folder-async", on_failure=[fail_task_versions])
async def async_folder(
    registry: RegistryLike,
    version_id: VersionRef,
    folder: str | os.PathLike[str],
    dataset_path: str = "",
) -> VersionInfo:
    """Async twin of :func:`sync_folder` (``a`` + ``sync_folder``)."""
    return await asyncio.to_thread(_sync_folder, registry, version_id, folder, dataset_path)


@task(name="dataver-remove-files", on_failure=[fail_task_versions])
def remove_files(
    registry: RegistryLike, version_id: VersionRef, pattern: str, recursive: bool = True
) -> VersionInfo:
    """Remove the files matching a glob from an Uploading version.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        pattern: A glob; a folder name removes the folder's files.
        recursive: ``*.tmp`` matches at any depth.

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.

    Example:
        ```python
        ds = remove_files(registry, ds, "*.tmp")
        ```
    """
    return _remove_files(registry, version_id, pattern, recursive)


@task(name="dataver-remove-files-async", on_failure=[fail_task_versions])
async def aremove_files(
    registry: RegistryLike, version_id: VersionRef, pattern: str, recursive: bool = True
) -> VersionInfo:
    """Async twin of :func:`remove_files`."""
    return await asyncio.to_thread(_remove_files, registry, version_id, pattern, recursive)
