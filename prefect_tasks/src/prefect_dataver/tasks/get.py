"""``get_local_copy``: a version's files in the local cache."""

from __future__ import annotations

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._twins import async_twin
from prefect_dataver.models import VersionRef
from prefect_dataver.models import version_id as id_of


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
    if version_id is None and name is None:
        raise ValueError("get_local_copy needs version_id or name")
    with open_registry(registry) as reg:
        if version_id is not None:
            ds = reg.get(id_of(version_id))
        else:
            ds = reg.get(name=name, project=project, version=version)
        local = ds.get_local_copy(paths)
    get_run_logger().info("Local copy of %s at %s", ds.uri, local)
    return str(local)


get_local_copy_async = async_twin(get_local_copy)
