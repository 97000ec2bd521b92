"""``add_files``, ``sync_folder``, ``remove_files``: change the files of an Uploading version.

A task that fails with no retry left marks the version Failed (see
:mod:`prefect_dataver.hygiene`).
"""

from __future__ import annotations

import os  # noqa: TC003 - Prefect reads task annotations at runtime

from prefect.logging import get_run_logger
from prefect.tasks import task

from dataver.scan import Symlinks  # noqa: TC001 - Prefect reads task annotations at runtime
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._twins import async_twin
from prefect_dataver.hygiene import building
from prefect_dataver.models import VersionInfo, VersionRef


@task(name="dataver-add-files")
def add_files(
    registry: RegistryLike,
    version_id: VersionRef,
    path: str | os.PathLike[str],
    dataset_path: str = "",
    wildcard: str | list[str] | None = None,
    recursive: bool = True,
    symlinks: Symlinks = "refuse",
) -> VersionInfo:
    """Add a local file, or a folder's files, to an Uploading version.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        path: A local file or folder.
        dataset_path: Folder inside the dataset ("" for the root).
        wildcard: Glob(s) selecting files (matched at any depth).
        recursive: Descend into sub-folders.
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default: the
            task fails, naming them, before anything is added), ``"follow"`` or ``"skip"``
            (see ``dataver.Dataset.add_files``).

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.
        dataver.NotFoundError: ``path`` does not exist.
        dataver.ValidationError: Links lead outside the folder (``symlinks="refuse"``).

    Example:
        ```python
        ds = add_files(registry, ds, "/data/new", dataset_path="train")
        ```
    """
    with open_registry(registry) as reg, building(reg, version_id) as ds:
        count = ds.add_files(
            path, dataset_path, wildcard=wildcard, recursive=recursive, symlinks=symlinks
        )
        get_run_logger().info("Added %d files to %s", count, ds.uri)
        return VersionInfo.from_dataset(ds)


@task(name="dataver-sync-folder")
def sync_folder(
    registry: RegistryLike,
    version_id: VersionRef,
    folder: str | os.PathLike[str],
    dataset_path: str = "",
    symlinks: Symlinks = "refuse",
) -> VersionInfo:
    """Make ``dataset_path`` of an Uploading version mirror a local folder.

    Files missing from the folder are removed from the version, new ones added, changed
    ones replaced.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        folder: The local folder.
        dataset_path: Folder inside the dataset ("" for the root).
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default),
            ``"follow"`` or ``"skip"`` (see ``dataver.Dataset.add_files``).

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.

    Example:
        ```python
        ds = sync_folder(registry, ds, "/data/export")
        ```
    """
    with open_registry(registry) as reg, building(reg, version_id) as ds:
        removed, added, modified = ds.sync_folder(folder, dataset_path, symlinks=symlinks)
        get_run_logger().info(
            "Synced %s: %d removed, %d added, %d modified", ds.uri, removed, added, modified
        )
        return VersionInfo.from_dataset(ds)


@task(name="dataver-remove-files")
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
    with open_registry(registry) as reg, building(reg, version_id) as ds:
        count = ds.remove_files(pattern, recursive=recursive)
        get_run_logger().info("Removed %d files from %s", count, ds.uri)
        return VersionInfo.from_dataset(ds)


add_files_async = async_twin(add_files)
sync_folder_async = async_twin(sync_folder)
remove_files_async = async_twin(remove_files)
