"""Operators that build and read dataver dataset versions.

Each operator is thin: :class:`~dataver_airflow.hooks.DataverHook` opens the registry and the
dataver SDK does the work. Operators that act on a version return its summary as XCom::

    {"id", "name", "project", "version", "state", "uri", "stats"}

Operators that take a ``version_id`` accept either the id or such a summary (for example the
``output`` of an upstream dataver operator).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

import dataver
from dataver_airflow.hooks.dataver import DataverHook

if TYPE_CHECKING:
    from airflow.sdk import Context

_SUMMARY_KEYS = ("id", "name", "project", "version", "state", "uri", "stats")
_ANY_STATE = None

VersionRef = str | Mapping[str, Any]
Parents = str | Sequence[str] | None


def summary(ds: dataver.Dataset) -> dict[str, Any]:
    """The JSON-able XCom value of a version."""
    full = ds.to_dict()
    return {key: full[key] for key in _SUMMARY_KEYS}


def provenance(context: Context) -> dict[str, Any]:
    """Which task run built a version: dag_id, run_id, task_id, try_number, logical_date."""
    ti = context["ti"]
    logical_date = context.get("logical_date")
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "try_number": ti.try_number,
        "logical_date": logical_date.isoformat() if logical_date is not None else None,
    }


def _version_id(ref: VersionRef) -> str:
    if isinstance(ref, Mapping):
        return str(ref["id"])
    if not ref:
        raise ValueError("version_id is empty")
    return str(ref)


def _parent_ids(registry: dataver.Registry, name: str, project: str, parents: Parents) -> list[str]:
    """``"latest"``: the newest Final/Published version of the dataset, if any; else the ids."""
    if parents is None:
        return []
    if isinstance(parents, str):
        if parents == "latest":
            try:
                return [registry.get(name=name, project=project).id]
            except dataver.VersionNotFoundError:
                return []
        return [parents]
    return [_version_id(p) for p in parents]


class _DataverOperator(BaseOperator):
    """Holds the connection id and opens the hook."""

    def __init__(self, *, dataver_conn_id: str = DataverHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataver_conn_id = dataver_conn_id

    @property
    def hook(self) -> DataverHook:
        return DataverHook(dataver_conn_id=self.dataver_conn_id)

    def _version(self, ref: VersionRef) -> dataver.Dataset:
        return self.hook.get_registry().get(_version_id(ref), states=_ANY_STATE)


class DataverCreateOperator(_DataverOperator):
    """Create a new version (state Uploading) of dataset ``project/name``.

    Args:
        name: Dataset name.
        project: Dataset project.
        parents: ``"latest"`` (the newest Final/Published version, if any), a list of version
            ids, or None.
        version: A semantic version; by default the next patch version.
        tags: Tags of the version.
        description: Free text.
        metadata: A JSON object of user metadata.
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

    def _create(self, context: Context) -> dataver.Dataset:
        registry = self.hook.get_registry()
        ds = registry.create(
            self.name,
            project=self.project,
            parents=_parent_ids(registry, self.name, self.project, self.parents),
            version=self.version,
            tags=self.tags,
            description=self.description,
            metadata=self.metadata,
            provenance=provenance(context),
        )
        self.log.info("Created %s (%s)", ds.uri, ds.id)
        return ds

    def execute(self, context: Context) -> dict[str, Any]:
        return summary(self._create(context))


class DataverAddFilesOperator(_DataverOperator):
    """Add local files to an Uploading version (``Dataset.add_files``)."""

    template_fields = ("version_id", "path", "dataset_path", "wildcard")

    def __init__(
        self,
        *,
        version_id: VersionRef,
        path: str,
        dataset_path: str = "",
        wildcard: str | None = None,
        recursive: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.path = path
        self.dataset_path = dataset_path
        self.wildcard = wildcard
        self.recursive = recursive

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        added = ds.add_files(
            self.path, self.dataset_path, wildcard=self.wildcard, recursive=self.recursive
        )
        self.log.info("Added %s to %s", added, ds.uri)
        return summary(ds)


class DataverSyncFolderOperator(_DataverOperator):
    """Make ``dataset_path`` of an Uploading version mirror a local folder."""

    template_fields = ("version_id", "folder", "dataset_path")

    def __init__(
        self, *, version_id: VersionRef, folder: str, dataset_path: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.folder = folder
        self.dataset_path = dataset_path

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        removed, added, modified = ds.sync_folder(self.folder, self.dataset_path)
        self.log.info(
            "Synced %s: %d removed, %d added, %d modified", ds.uri, removed, added, modified
        )
        return summary(ds)


class DataverRemoveFilesOperator(_DataverOperator):
    """Remove the files matching ``pattern`` from an Uploading version."""

    template_fields = ("version_id", "pattern")

    def __init__(
        self, *, version_id: VersionRef, pattern: str, recursive: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.pattern = pattern
        self.recursive = recursive

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        removed = ds.remove_files(self.pattern, recursive=self.recursive)
        self.log.info("Removed %d files from %s", removed, ds.uri)
        return summary(ds)


class DataverFinalizeOperator(_DataverOperator):
    """Seal an Uploading version (state Final); uploads pending content first by default."""

    template_fields = ("version_id",)

    def __init__(self, *, version_id: VersionRef, auto_upload: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.auto_upload = auto_upload

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        ds.finalize(auto_upload=self.auto_upload)
        self.log.info("Finalized %s", ds.uri)
        return summary(ds)


class DataverPublishOperator(_DataverOperator):
    """Publish a Final version (read-only for good)."""

    template_fields = ("version_id",)

    def __init__(self, *, version_id: VersionRef, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        ds.publish()
        self.log.info("Published %s", ds.uri)
        return summary(ds)


class DataverGetOperator(_DataverOperator):
    """Fetch a version into the local cache; returns the local folder's path.

    Give ``version_id``, or ``name`` (with ``project`` and optionally ``version``) for the newest
    Final/Published version of a dataset.
    """

    template_fields = ("version_id", "name", "project", "version", "paths")

    def __init__(
        self,
        *,
        version_id: VersionRef | None = None,
        name: str | None = None,
        project: str | None = None,
        version: str | None = None,
        paths: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if version_id is None and name is None:
            raise ValueError("DataverGetOperator needs version_id or name")
        self.version_id = version_id
        self.name = name
        self.project = project
        self.version = version
        self.paths = paths

    def execute(self, context: Context) -> str:
        registry = self.hook.get_registry()
        if self.version_id:
            ds = registry.get(_version_id(self.version_id))
        else:
            ds = registry.get(name=self.name, project=self.project, version=self.version)
        local = ds.get_local_copy(self.paths)
        self.log.info("Local copy of %s at %s", ds.uri, local)
        return str(local)


class DataverVersionOperator(DataverCreateOperator):
    """Version a folder in one step: create, sync the folder, upload, finalize (and publish).

    If anything fails after the version was created, the version is marked Failed with the
    error and the exception re-raised; killing the task aborts the version.

    Args:
        name: Dataset name.
        project: Dataset project.
        folder: The local folder to version.
        dataset_path: Where in the dataset the folder goes.
        parents: ``"latest"`` (default), a list of version ids, or None.
        version: A semantic version; by default the next patch version.
        tags: Tags of the version.
        metadata: A JSON object of user metadata.
        publish: Publish the version after finalizing it.
    """

    template_fields = (*DataverCreateOperator.template_fields, "folder", "dataset_path")

    def __init__(
        self,
        *,
        name: str,
        project: str = "default",
        folder: str,
        dataset_path: str = "",
        parents: Parents = "latest",
        version: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        publish: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name=name,
            project=project,
            parents=parents,
            version=version,
            tags=tags,
            metadata=metadata,
            **kwargs,
        )
        self.folder = folder
        self.dataset_path = dataset_path
        self.publish = publish
        self._dataset: dataver.Dataset | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._dataset = self._create(context)
        try:
            removed, added, modified = ds.sync_folder(self.folder, self.dataset_path)
            self.log.info("%d removed, %d added, %d modified", removed, added, modified)
            stored = ds.upload()
            self.log.info("Uploaded %d new bytes", stored)
            ds.finalize()
            if self.publish:
                ds.publish()
        except Exception as exc:
            self._end(ds, failed=str(exc) or type(exc).__name__)
            raise
        finally:
            self._dataset = None
        self.log.info("Version %s is %s", ds.uri, ds.state.value)
        return summary(ds)

    def on_kill(self) -> None:
        if self._dataset is not None:
            self._end(self._dataset, failed=None)

    def _end(self, ds: dataver.Dataset, *, failed: str | None) -> None:
        """Fail (or, without an error, abort) the version if it is still Uploading."""
        try:
            if ds.reload().state is not dataver.State.UPLOADING:
                return
            if failed is None:
                ds.abort("task killed")
                self.log.warning("Aborted %s", ds.uri)
            else:
                ds.fail(failed)
                self.log.warning("Marked %s Failed: %s", ds.uri, failed)
        except dataver.DataverError as exc:
            self.log.warning("Could not end %s: %s", ds.uri, exc)
