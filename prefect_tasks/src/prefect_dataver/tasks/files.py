"""``add_files``, ``sync_folder``, ``remove_files``: change the files of an Uploading version.

A task that fails with no retry left marks the version Failed (see
:mod:`prefect_dataver.hygiene`).

Many task runs may change one version at once as *writers* (``writer=``, or ``part=`` from
``partition_files``): each commits its whole contribution when it ends, a retry replaces
its own, and ``finalize_version`` merges them all (``dataver.Dataset.writer``).
"""

from __future__ import annotations

import os  # noqa: TC003 - Prefect reads task annotations at runtime
from collections.abc import Mapping
from typing import Any

from prefect.logging import get_run_logger
from prefect.tasks import task

from dataver.partitioning import Part
from dataver.policies import Symlinks  # noqa: TC001 - Prefect reads task annotations at runtime
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._run import task_run_writer
from prefect_dataver._twins import async_twin
from prefect_dataver.hygiene import building
from prefect_dataver.models import VersionInfo, VersionRef

PartRef = Part | Mapping[str, Any]
"""A ``dataver.Part`` or its ``to_dict()`` (an item of ``partition_files``' result)."""


def _writer_of(writer: str | None, part: PartRef | None) -> str | None:
    """The writer a task changes the version as: ``writer``; else, with a ``part``, the task
    run's own (:func:`~prefect_dataver._run.task_run_writer`, the same across its retries);
    else None (the version's own changes)."""
    if writer is not None:
        return writer
    return task_run_writer() if part is not None else None


@task(name="dataver-add-files")
def add_files(
    registry: RegistryLike,
    version_id: VersionRef,
    path: str | os.PathLike[str],
    dataset_path: str = "",
    wildcard: str | list[str] | None = None,
    recursive: bool = True,
    symlinks: Symlinks = "refuse",
    part: PartRef | None = None,
    writer: str | None = None,
) -> VersionInfo:
    """Add a local file, or a folder's files, to an Uploading version.

    With ``part`` (one item of :func:`~prefect_dataver.partition_files`), only that part of
    the folder's files is added, as a writer of its own: map the task over the parts and
    each task run adds its share of the same version at once, on any worker. A task run's
    contribution is committed as a whole when it ends; a retry of it replaces it.

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
        part: Add only the files of this part of ``path`` (``dataver.Part`` or its dict).
        writer: Add as this named writer: the call is the writer's whole contribution, and
            a later call of the same name replaces it. Default: with ``part``, the task
            run's own name (``<task run name>/<task run id>``, the same across its
            retries); without, none (the version's own changes, as one task makes them).

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.
        dataver.ConflictError: The version is being finalized (writers only).
        dataver.NotFoundError: ``path`` does not exist.
        dataver.ValidationError: Links lead outside the folder (``symlinks="refuse"``).

    Example:
        ```python
        ds = add_files(registry, ds, "/data/new", dataset_path="train")
        added = add_files.map(unmapped(registry), unmapped(ds), unmapped(folder), part=parts)
        ```
    """
    name = _writer_of(writer, part)
    with open_registry(registry) as reg, building(reg, version_id) as ds:
        count = ds.add_files(
            path,
            dataset_path,
            wildcard=wildcard,
            recursive=recursive,
            symlinks=symlinks,
            writer=name,
            part=part,
        )
        _log_change(f"Added {count} files to {ds.uri}", name)
        return VersionInfo.from_dataset(ds)


@task(name="dataver-sync-folder")
def sync_folder(
    registry: RegistryLike,
    version_id: VersionRef,
    folder: str | os.PathLike[str],
    dataset_path: str = "",
    symlinks: Symlinks = "refuse",
    part: PartRef | None = None,
    writer: str | None = None,
) -> VersionInfo:
    """Make ``dataset_path`` of an Uploading version mirror a local folder.

    Files missing from the folder are removed from the version, new ones added, changed
    ones replaced. With ``part`` (one item of :func:`~prefect_dataver.partition_files`),
    only that part of the folder is mirrored (files of the version outside it are left
    alone), as a writer of its own: map the task over the parts to sync one version from
    many task runs at once.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        folder: The local folder.
        dataset_path: Folder inside the dataset ("" for the root).
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default),
            ``"follow"`` or ``"skip"`` (see ``dataver.Dataset.add_files``).
        part: Mirror only this part of ``folder`` (``dataver.Part`` or its dict).
        writer: Sync as this named writer (see :func:`add_files`; the same default).

    Returns:
        The version.

    Raises:
        dataver.InvalidTransitionError: The version is not Uploading.
        dataver.ConflictError: The version is being finalized (writers only).

    Example:
        ```python
        ds = sync_folder(registry, ds, "/data/export")
        ```
    """
    name = _writer_of(writer, part)
    with open_registry(registry) as reg, building(reg, version_id) as ds:
        removed, added, modified = ds.sync_folder(
            folder, dataset_path, symlinks=symlinks, writer=name, part=part
        )
        _log_change(f"Synced {ds.uri}: {removed} removed, {added} added, {modified} modified", name)
        return VersionInfo.from_dataset(ds)


@task(name="dataver-remove-files")
def remove_files(
    registry: RegistryLike,
    version_id: VersionRef,
    pattern: str,
    recursive: bool = True,
    writer: str | None = None,
) -> VersionInfo:
    """Remove the files matching a glob from an Uploading version.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        pattern: A glob; a folder name removes the folder's files.
        recursive: ``*.tmp`` matches at any depth.
        writer: Remove as this named writer: the removal is its whole contribution (see
            :func:`add_files`). Default: none (the version's own change).

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
        count = ds.remove_files(pattern, recursive=recursive, writer=writer)
        _log_change(f"Removed {count} files from {ds.uri}", writer)
        return VersionInfo.from_dataset(ds)


def _log_change(what: str, writer: str | None) -> None:
    if writer is None:
        get_run_logger().info("%s", what)
    else:
        get_run_logger().info("%s (writer %r, committed)", what, writer)


add_files_async = async_twin(add_files)
sync_folder_async = async_twin(sync_folder)
remove_files_async = async_twin(remove_files)
