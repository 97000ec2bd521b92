"""``version_folder``: a folder as a new version in one step, over ``Registry.version_folder``."""

from __future__ import annotations

import os  # noqa: TC003 - Prefect reads task annotations at runtime
import warnings
from typing import Any

from prefect.logging import get_run_logger
from prefect.tasks import task

import dataver
from dataver.policies import (
    Symlinks,  # noqa: TC001 - Prefect reads task annotations at runtime
    Unchanged,  # noqa: TC001 - Prefect reads task annotations at runtime
)
from prefect_dataver._announce import announce
from prefect_dataver._registry import RegistryLike, open_registry
from prefect_dataver._run import provenance, resume_key, retries_left
from prefect_dataver._twins import async_twin
from prefect_dataver.cache import (
    VersionFolderCache,
    fingerprint,
    keep_for_rerun,
    unchanged_policy,
)
from prefect_dataver.models import Parents, VersionInfo, parent_refs


@task(
    name="dataver-version-folder",
    task_run_name="version {project}/{name}",
    cache_policy=VersionFolderCache(),
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
    unchanged: Unchanged = "reuse",
    symlinks: Symlinks = "refuse",
    reuse_unchanged: bool | None = None,
) -> VersionInfo | None:
    """Version a folder in one step: create, sync the folder, upload, finalize (and publish).

    ``dataver.Registry.version_folder`` does the work, so the answer is the SDK's, the CLI's
    and Airflow's: a folder holding what its parent holds is ``unchanged`` (``"reuse"``: the
    parent is returned and nothing is created). A retry resumes the version of the failed
    attempt; the attempt with no retry left marks it Failed.

    Args:
        registry: A :class:`~prefect_dataver.DataverRegistry` block or a registry URL.
        name: Dataset name.
        project: Dataset project.
        folder: The local folder to version.
        dataset_path: Where in the dataset the folder goes.
        parents: ``"latest"`` (default), version ids or ``VersionInfo`` objects, or None.
        version: A semantic version; by default the next patch version.
        tags: Tags of a new version.
        metadata: A JSON object of user metadata of a new version.
        publish: Publish the version (a reused Final one too).
        unchanged: An unchanged folder: ``"reuse"`` (default), ``"new"`` (build a version
            anyway) or ``"skip"`` (build nothing, return None).
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default: the
            task fails, naming them, before anything changes), ``"follow"`` or ``"skip"``
            (see ``dataver.Dataset.add_files``).
        reuse_unchanged: Deprecated: ``True`` is ``unchanged="reuse"``, ``False`` is
            ``unchanged="new"``.

    Returns:
        The Final (or Published) version; None when ``unchanged="skip"`` skipped it.

    Raises:
        dataver.NotFoundError: ``folder`` does not exist (no version is created).
        dataver.DataverError: The registry refused a step.

    Example:
        ```python
        ds = version_folder("/data/registry", "images", "vision", "/exports/images")
        ```
    """
    if reuse_unchanged is not None:
        warnings.warn(
            "version_folder(reuse_unchanged=...) is deprecated; pass unchanged='reuse' or 'new'",
            DeprecationWarning,
            stacklevel=2,
        )
    key = fingerprint(folder, dataset_path, symlinks)
    with open_registry(registry) as reg:
        done = reg.version_folder(
            name,
            folder,
            project,
            dataset_path=dataset_path,
            parents=parent_refs(parents),  # type: ignore[arg-type]
            unchanged=unchanged_policy(unchanged, reuse_unchanged),
            resume_key=resume_key(),
            version=version,
            tags=tags,
            metadata=metadata,
            provenance={**provenance(), **({"folder_fingerprint": key} if key else {})},
            symlinks=symlinks,
            keep_on_error=retries_left() > 0,
        )
        ds = done.dataset
        get_run_logger().info(
            "%s: %s (%d removed, %d added, %d modified, %d bytes stored)",
            done.outcome,
            ds.uri if ds else f"nothing, {folder} is unchanged",
            done.removed,
            done.added,
            done.modified,
            done.stored_bytes,
        )
        if ds is None:
            return None
        # NOTE: published here, not by the SDK, to know whether this call published it.
        published = publish and ds.state is dataver.State.FINAL
        if published:
            ds.publish()
        # NOTE: a reused version is not announced again (it was when it was built).
        if done.outcome != "reused" or published:
            announce(registry, ds, finalized=done.outcome != "reused", published=published)
        info = VersionInfo.from_dataset(ds)
        keep_for_rerun(info, key, publish)
        return info


version_folder_async = async_twin(
    version_folder, task_run_name="version {project}/{name}", cache_policy=VersionFolderCache()
)
