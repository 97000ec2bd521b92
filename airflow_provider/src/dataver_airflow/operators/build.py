"""Operators that fill a version step by step: create, add files, sync a folder, remove files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from dataver.api.steps import RESUMABLE
from dataver_airflow.operators._base import (
    DataverOperator,
    Parents,
    VersionRef,
    fail_fast,
    provenance,
    resume_key,
    summary,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from dataver.scan import Symlinks


class DataverCreateOperator(DataverOperator):
    """Create a new version (state Uploading) of dataset ``project/name``.

    A retry of the task (same DAG run, same task) resumes the Uploading version its earlier
    try created instead of creating another: the version's ``provenance["resume_key"]`` is
    ``airflow:<dag_id>/<run_id>/<task_id>/<map_index>`` (:meth:`dataver.Registry.find_resumable`).
    A cleared DAG run whose version the steps already sealed (Final or Published) takes that
    version as it is: the add, sync and remove steps leave it alone, and the finalize and
    publish steps find it sealed; no second version is made.

    Args:
        name: Dataset name.
        project: Dataset project.
        parents: ``"latest"`` (the newest Final/Published version, if any), a list of version
            ids (or upstream summaries), or None.
        version: A semantic version; by default the next patch version.
        tags: Tags of the version.
        description: Free text.
        metadata: A JSON object of user metadata.

    Returns:
        The version's summary (XCom).

    Raises:
        AirflowFailException: A name, tag, metadata or version string is invalid, or a parent
            is unknown or not Final/Published (no retry can fix that).

    Example::

        create = DataverCreateOperator(task_id="create", name="labels", parents="latest")
    """

    template_fields = ("name", "project", "parents", "version", "tags", "description", "metadata")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}

    def __init__(
        self,
        *,
        name: str,
        project: str = "default",
        parents: Parents = None,
        version: str | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.project = project
        self.parents = parents
        self.version = version
        self.tags = tags
        self.description = description
        self.metadata = metadata

    def _what(self) -> str:
        return f"{type(self).__name__} cannot create a version of {self.project}/{self.name}"

    def execute(self, context: Context) -> dict[str, Any]:
        key = resume_key(context)
        with self.registry() as registry, fail_fast(self._what()):
            ds = registry.find_resumable(
                key, name=self.name, project=self.project, states=RESUMABLE
            )
            if ds is not None:
                self.log.info(
                    "Resuming %s (%s), left %s by try %s of this task",
                    ds.uri,
                    ds.id,
                    ds.state.value.title(),
                    ds.provenance.get("try_number"),
                )
            else:
                ds = registry.create(
                    self.name,
                    project=self.project,
                    parents=registry.resolve_parents(self.name, self.project, self.parents),
                    version=self.version,
                    tags=self.tags,
                    description=self.description,
                    metadata=self.metadata,
                    provenance={**provenance(context), "resume_key": key},
                )
                self.log.info("Created %s (%s)", ds.uri, ds.id)
            self.dataver_version_id = ds.id
            return summary(ds)


class DataverAddFilesOperator(DataverOperator):
    """Add local files to an Uploading version (``Dataset.add_files``).

    Args:
        version_id: The version id, or an upstream operator's summary.
        path: A local file or folder.
        dataset_path: Where in the dataset the files go.
        wildcard: Only files matching this pattern.
        recursive: Walk sub-folders.
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default: the
            task fails, naming them, before anything is added), ``"follow"`` or ``"skip"``
            (see ``Dataset.add_files``).

    Returns:
        The version's summary (XCom).

    Example::

        add = DataverAddFilesOperator(task_id="add", version_id=create.output, path="/x")
    """

    template_fields = ("version_id", "path", "dataset_path", "wildcard")

    def __init__(
        self,
        *,
        version_id: VersionRef,
        path: str,
        dataset_path: str = "",
        wildcard: str | None = None,
        recursive: bool = True,
        symlinks: Symlinks = "refuse",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.path = path
        self.dataset_path = dataset_path
        self.wildcard = wildcard
        self.recursive = recursive
        self.symlinks: Symlinks = symlinks

    def execute(self, context: Context) -> dict[str, Any]:
        with self._version(self.version_id) as ds:
            if self._sealed_by_this_run(context, ds):
                return summary(ds)
            added = ds.add_files(
                self.path,
                self.dataset_path,
                wildcard=self.wildcard,
                recursive=self.recursive,
                symlinks=self.symlinks,
            )
            self.log.info("Added %s to %s", added, ds.uri)
            return summary(ds)


class DataverSyncFolderOperator(DataverOperator):
    """Make ``dataset_path`` of an Uploading version mirror a local folder.

    Args:
        version_id: The version id, or an upstream operator's summary.
        folder: The local folder.
        dataset_path: The part of the dataset that mirrors it.
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default),
            ``"follow"`` or ``"skip"`` (see ``Dataset.add_files``).

    Returns:
        The version's summary (XCom).
    """

    template_fields = ("version_id", "folder", "dataset_path")

    def __init__(
        self,
        *,
        version_id: VersionRef,
        folder: str,
        dataset_path: str = "",
        symlinks: Symlinks = "refuse",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.folder = folder
        self.dataset_path = dataset_path
        self.symlinks: Symlinks = symlinks

    def execute(self, context: Context) -> dict[str, Any]:
        with self._version(self.version_id) as ds:
            if self._sealed_by_this_run(context, ds):
                return summary(ds)
            removed, added, modified = ds.sync_folder(
                self.folder, self.dataset_path, symlinks=self.symlinks
            )
            self.log.info(
                "Synced %s: %d removed, %d added, %d modified", ds.uri, removed, added, modified
            )
            return summary(ds)


class DataverRemoveFilesOperator(DataverOperator):
    """Remove the files matching ``pattern`` from an Uploading version.

    Args:
        version_id: The version id, or an upstream operator's summary.
        pattern: A path or wildcard inside the dataset.
        recursive: Match in sub-folders too.

    Returns:
        The version's summary (XCom).
    """

    template_fields = ("version_id", "pattern")

    def __init__(
        self, *, version_id: VersionRef, pattern: str, recursive: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.pattern = pattern
        self.recursive = recursive

    def execute(self, context: Context) -> dict[str, Any]:
        with self._version(self.version_id) as ds:
            if self._sealed_by_this_run(context, ds):
                return summary(ds)
            removed = ds.remove_files(self.pattern, recursive=self.recursive)
            self.log.info("Removed %d files from %s", removed, ds.uri)
            return summary(ds)
