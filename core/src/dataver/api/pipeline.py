"""The pipeline steps of a registry: version a folder, resume a step, wait for a version.

A part of :class:`~dataver.api.registry.Registry` (its methods are documented there); the
work is in :mod:`dataver.api.steps` and :mod:`dataver.api.wait`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from dataver.api import steps, wait
from dataver.api.wait import Watch

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from dataver.api.dataset import Dataset
    from dataver.api.parents import Parents
    from dataver.api.registry import Registry
    from dataver.api.steps import FolderVersion
    from dataver.policies import Symlinks, Unchanged
    from dataver.versions.state import State


class PipelineSteps:
    """What Airflow operators, Prefect tasks and ``dataver sync`` are thin wrappers over."""

    def version_folder(
        self,
        name: str,
        folder: str | os.PathLike[str],
        project: str = "default",
        *,
        dataset_path: str = "",
        parents: Parents = "latest",
        unchanged: Unchanged = "reuse",
        resume_key: str | None = None,
        version: str | None = None,
        tags: Iterable[str] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        publish: bool = False,
        finalize: bool = True,
        symlinks: Symlinks = "refuse",
        keep_on_error: bool = False,
        max_workers: int | None = None,
        allow_empty: bool = False,
    ) -> FolderVersion:
        """Version a local folder in one step: create, sync, upload, finalize (and publish).

        The pipeline step the Airflow operator, the Prefect task and ``dataver sync --name``
        wrap. The folder becomes ``dataset_path`` of a new version of ``project/name`` on
        top of ``parents``; only what changed is stored.

        * **Unchanged folder** (it holds exactly what its one parent holds): ``unchanged``
          decides — ``"reuse"`` (default) returns the parent and creates nothing, ``"new"``
          builds a version anyway, ``"skip"`` creates nothing and returns no version. With
          several parents (a merge) a version is always built. A ``version`` string other
          than the parent's means a new version is wanted: it is built.
        * **Retries**: with a ``resume_key`` (stable across retries of one pipeline step,
          e.g. ``airflow:<dag>/<run>/<task>/<map index>``), a version an earlier try left is
          found (:meth:`find_resumable`) and finished instead of starting another.
        * **Empty folder** (no file below it): refused before anything is created, unless
          ``allow_empty`` — an export that produced nothing would otherwise become a
          version without files (removing every file of the parent).
        * **Failures**: the version is marked Failed with the error, unless
          ``keep_on_error`` (a retry will resume it): then it stays Uploading. An interrupt
          (Ctrl-C) aborts it. The error is raised either way.

        Args:
            name: Dataset name.
            folder: The local folder (checked before anything is created).
            project: Dataset project.
            dataset_path: Where in the dataset the folder goes ("" for the root).
            parents: ``"latest"`` (default), version ids or Datasets, or None.
            unchanged: ``"reuse"``, ``"new"`` or ``"skip"`` (see above).
            resume_key: Identifies this step across its retries.
            version: A semantic version; by default the next patch version.
            tags: Tags of a new version.
            description: Description of a new version.
            metadata: User metadata of a new version.
            provenance: Who builds it (integrations pass their run's identity).
            publish: Publish the version (a reused Final parent too).
            finalize: Upload and finalize; False leaves a new version Uploading, synced.
            symlinks: Links leading outside the folder: ``"refuse"``, ``"follow"``, ``"skip"``.
            keep_on_error: Leave the version Uploading on failure (for a retry).
            max_workers: Parallel transfers for the upload.
            allow_empty: Version a folder holding no file (default: refuse it).

        Returns:
            A :class:`~dataver.api.steps.FolderVersion`: the version, what happened
            (``outcome``) and what the sync changed.

        Raises:
            NotFoundError: ``folder`` is not a folder (nothing was created).
            ValidationError: An argument is invalid, or the folder holds no file and
                ``allow_empty`` is False (nothing was created).

        Example:
            >>> done = reg.version_folder("images", "/exports/images", "vision")  # doctest: +SKIP
            >>> done.outcome, done.dataset.version  # doctest: +SKIP
            ('built', '1.0.3')
        """
        return steps.version_folder(
            cast("Registry", self),
            name,
            folder,
            project,
            dataset_path=dataset_path,
            parents=parents,
            unchanged=unchanged,
            resume_key=resume_key,
            version=version,
            tags=tags,
            description=description,
            metadata=metadata,
            provenance=provenance,
            publish=publish,
            finalize=finalize,
            symlinks=symlinks,
            keep_on_error=keep_on_error,
            max_workers=max_workers,
            allow_empty=allow_empty,
        )

    def find_resumable(
        self,
        resume_key: str,
        *,
        name: str,
        project: str = "default",
        states: Iterable[str | State] = ("uploading",),
    ) -> Dataset | None:
        """The version of ``project/name`` an earlier try of a pipeline step left, if any.

        A step records its ``resume_key`` in the provenance of the version it creates
        (:meth:`version_folder` does); a retry of the step passes the same key and continues
        that version instead of creating another.

        Args:
            resume_key: The step's key, the same across its retries.
            name: Dataset name.
            project: Dataset project.
            states: The states a resumable version may be in (default Uploading).

        Returns:
            The version (loaded for changes), or None.
        """
        return steps.find_resumable(
            cast("Registry", self), resume_key, name=name, project=project, states=states
        )

    def wait_for(
        self,
        version_id: str | None = None,
        *,
        name: str | None = None,
        project: str = "default",
        version: str | None = None,
        newer_than: str | None = None,
        states: Iterable[str | State] = ("final", "published"),
        timeout: float | None = None,
        poll_interval: float = 5.0,
    ) -> Dataset:
        """Wait until a version is in one of ``states`` (Final or Published by default).

        The version is ``version_id``; or ``project/name`` at ``version``; or the newest
        version of ``project/name`` (newer than ``newer_than``: a version id or string),
        which need not exist yet. A version that Failed, was Aborted or is deleted can never
        get there: the wait ends at once. :meth:`wait_for_async` is the async twin; the
        Airflow sensor and trigger and the Prefect task are built on :class:`dataver.Watch`.

        Args:
            version_id: The version's id.
            name: Dataset name, instead of ``version_id``.
            project: Dataset project.
            version: A version string of ``name``.
            newer_than: Only a version newer than this id or version string.
            states: The states that end the wait.
            timeout: Seconds to wait at most (None: no limit).
            poll_interval: Seconds between two reads of the registry.

        Returns:
            The version, in one of ``states``.

        Raises:
            VersionBrokenError: It Failed, was Aborted or was deleted.
            WaitTimeoutError: It did not get there within ``timeout``.
        """
        watch = Watch(version_id, name, project, version, newer_than, tuple(states))  # type: ignore[arg-type]
        return wait.wait_for(cast("Registry", self), watch, timeout, poll_interval)

    async def wait_for_async(
        self,
        version_id: str | None = None,
        *,
        name: str | None = None,
        project: str = "default",
        version: str | None = None,
        newer_than: str | None = None,
        states: Iterable[str | State] = ("final", "published"),
        timeout: float | None = None,
        poll_interval: float = 5.0,
    ) -> Dataset:
        """Async twin of :meth:`wait_for`: waits without blocking the event loop."""
        watch = Watch(version_id, name, project, version, newer_than, tuple(states))  # type: ignore[arg-type]
        return await wait.wait_for_async(cast("Registry", self), watch, timeout, poll_interval)
