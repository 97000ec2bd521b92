"""``get_local_copy``: a version's files in the local cache."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver.models import VersionRef, version_id

if TYPE_CHECKING:
    import dataver


def _get_local_copy(
    registry: RegistryLike,
    version: VersionRef | None,
    name: str | None,
    project: str,
    version_string: str | None,
    paths: list[str] | None,
) -> str:
    reg = open_registry(registry)
    ds = _find(reg, version, name, project, version_string)
    local = ds.get_local_copy(paths)
    get_run_logger().info("Local copy of %s at %s", ds.uri, local)
    return str(local)


def _find(
    reg: dataver.Registry,
    version: VersionRef | None,
    name: str | None,
    project: str,
    version_string: str | None,
) -> dataver.Dataset:
    if version is not None:
        return reg.get(version_id(version))
    if name is None:
        raise ValueError("get_local_copy needs version_id or name")
    return reg.get(name=name, project=project, version=version_string)


@task(name="dataver-get-local-copy")
def get_local_copy(
    registry: RegistryLike,
    version_id: VersionRef | None = None,
    name: str | None = None,
    project: str = "default",
    version: str | None = None,
    paths: list[str] | None = None,
) -> str:
    """Materialise a Final/Published version in the local cache; return the folder.

    Give ``version_id``, or ``name`` (with ``project`` and optionally ``version``) for the
    newest Final/Published version of a dataset. A second call does no I/O.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        version_id: The version (``VersionInfo`` or id).
        name: Dataset name, instead of ``version_id``.
        project: Dataset project.
        version: A version string of ``name``.
        paths: Globs selecting a subset of the files.

    Returns:
        The local folder (read-only files).

    Raises:
        dataver.VersionNotFoundError: No such Final/Published version.
        ValueError: Neither ``version_id`` nor ``name`` was given.

    Example:
        ```python
        folder = get_local_copy(registry, name="images", project="vision")
        ```
    """
    return _get_local_copy(registry, version_id, name, project, version, paths)


@task(name="dataver-get-local-copy-async")
async def aget_local_copy(
    registry: RegistryLike,
    version_id: VersionRef | None = None,
    name: str | None = None,
    project: str = "default",
    version: str | None = None,
    paths: list[str] | None = None,
) -> str:
    """Async twin of :func:`get_local_copy`."""
    return await asyncio.to_thread(
        _get_local_copy, registry, version_id, name, project, version, paths
    )
