"""``create_version``: a new Uploading version, with the run's provenance."""

from __future__ import annotations

from typing import Any

from prefect.logging import get_run_logger
from prefect.tasks import task

from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._run import provenance, resume_key
from prefect_dataver._twins import async_twin
from prefect_dataver.models import Parents, VersionInfo, parent_refs


@task(name="dataver-create-version", task_run_name="create {project}/{name}")
def create_version(
    registry: RegistryLike,
    name: str,
    project: str = "default",
    parents: Parents = None,
    version: str | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> VersionInfo:
    """Create a new version (state Uploading) of dataset ``project/name``.

    The flow run and task run are recorded in the version's provenance. A retry of the
    same task call returns the version the earlier attempt created.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        name: Dataset name.
        project: Dataset project.
        parents: ``"latest"`` (newest Final/Published version, if any), version ids or
            ``VersionInfo`` objects, or None.
        version: A semantic version; by default the next patch version.
        tags: Tags of the version.
        description: Free text.
        metadata: A JSON object of user metadata.

    Returns:
        The new version.

    Raises:
        dataver.ValidationError: A name, tag, metadata key or version is invalid.
        dataver.ConflictError: ``version`` is taken.

    Example:
        ```python
        ds = create_version("/data/registry", "images", project="vision", parents="latest")
        ```
    """
    key = resume_key()
    with open_registry(registry) as reg:
        # NOTE: a retry of this task call returns the version its earlier attempt created.
        ds = reg.find_resumable(key, name=name, project=project) if key else None
        if ds is not None:
            get_run_logger().info("Resuming %s (%s) of an earlier attempt", ds.uri, ds.id)
            return VersionInfo.from_dataset(ds)
        ds = reg.create(
            name,
            project,
            parent_refs(parents),  # type: ignore[arg-type]
            version,
            tags,
            description,
            metadata,
            provenance=provenance(),
        )
        get_run_logger().info("Created %s (%s)", ds.uri, ds.id)
        return VersionInfo.from_dataset(ds)


create_version_async = async_twin(create_version, task_run_name="create {project}/{name}")
