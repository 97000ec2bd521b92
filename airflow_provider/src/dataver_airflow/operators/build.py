"""Operators that fill a version step by step: create, add files, sync a folder, remove files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from dataver.api.steps import RESUMABLE
from dataver_airflow.operators._base import (
    AUTO,
    DataverOperator,
    Parents,
    VersionRef,
    fail_fast,
    part_of,
    provenance,
    resume_key,
    summary,
    writer_name,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

    from dataver import Part
    from dataver.api.writer import Writer
    from dataver.policies import Symlinks

    PartArg = Part | Mapping[str, Any] | str | None


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


class DataverPartitionOperator(BaseOperator):
    """Split a folder (or a list of files, or an fsspec URL) into ``num_parts`` parts, one per
    worker (:func:`dataver.partition`).

    Returns the parts as a list of ``Part.to_dict()`` (XCom): feed it to a mapped
    ``DataverAddFilesOperator`` (or ``DataverSyncFolderOperator``) so that each mapped task
    adds one part of the folder to the same version, as a writer of its own::

        parts = DataverPartitionOperator(task_id="partition", source="/data/x", num_parts=4)
        add = DataverAddFilesOperator.partial(task_id="add", version_id=create.output).expand(
            part=parts.output
        )

    Args:
        source: A local folder, a list of file paths, or an fsspec URL (``s3://...``).
        num_parts: How many parts (the number of mapped tasks; fewer when there are fewer
            files).
        by: Balance the parts by file ``"count"`` (default) or by ``"bytes"``.
        wildcard: Only files matching this glob (or list of globs).
        recursive: Walk sub-folders.
        symlinks: Links leading outside the folder: ``"refuse"`` (default), ``"follow"``,
            ``"skip"`` (see ``Dataset.add_files``).

    Raises:
        AirflowFailException: Invalid ``num_parts``, ``by`` or ``symlinks`` (no retry can
            fix them). A missing source is retried like any error (an export may land late).
    """

    template_fields = ("source", "num_parts", "by", "wildcard")

    def __init__(
        self,
        *,
        source: str | Sequence[str],
        num_parts: int | str,
        by: str = "count",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
        symlinks: Symlinks = "refuse",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.num_parts = num_parts
        self.by = by
        self.wildcard = wildcard
        self.recursive = recursive
        self.symlinks: Symlinks = symlinks

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from dataver import partition

        what = f"{type(self).__name__} cannot split {self.source}"
        try:
            count = int(self.num_parts)
        except (TypeError, ValueError) as exc:
            raise AirflowFailException(f"{what}: num_parts must be a whole number") from exc
        with fail_fast(what):
            parts = partition(
                self.source,
                count,
                by=self.by,  # type: ignore[arg-type]
                wildcard=self.wildcard,
                recursive=self.recursive,
                symlinks=self.symlinks,
            )
        for part in parts:
            self.log.info(
                "Part %d/%d: %d files, %d bytes", part.index, part.count, part.files, part.bytes
            )
        return [part.to_dict() for part in parts]


class _Writes(DataverOperator):
    """What the add and sync operators share: the part they take, the writer they add as."""

    part: PartArg
    writer: str | None

    def _input(self, given: Any, what: str) -> tuple[Any, dict[str, Any] | None]:
        """The local input (``given``, else the part's ``source``) and the part, as a dict."""
        part = part_of(self.part)
        source = given if given not in (None, "") else (part or {}).get("source")
        if source in (None, ""):
            raise AirflowFailException(f"{type(self).__name__}: no {what} given (and no part)")
        return source, part

    def _contributed(self, context: Context, writer: Writer) -> None:
        """Log what the writer committed; push it as XCom ``contribution``."""
        done = writer.contribution
        if done is None:
            return
        contribution = {
            "writer": writer.name,
            "files": done.files,
            "removed": done.removed,
            "bytes": done.bytes,
            "stored_bytes": done.stored_bytes,
        }
        self.log.info(
            "Writer %r committed %d files (%d bytes, %d newly stored), %d removed",
            writer.name,
            done.files,
            done.bytes,
            done.stored_bytes,
            done.removed,
        )
        context["ti"].xcom_push(key="contribution", value=contribution)


class DataverAddFilesOperator(_Writes):
    """Add local files to an Uploading version (``Dataset.add_files``).

    Mapped over the parts of a folder (``.expand(part=...)``), each mapped task adds its
    part as a writer of its own, in parallel with the others; ``DataverFinalizeOperator``
    merges them (docs/airflow.md, "Many workers, one version").

    Args:
        version_id: The version id, or an upstream operator's summary.
        path: A local file or folder (or a list of them); by default the ``part``'s source.
        dataset_path: Where in the dataset the files go.
        wildcard: Only files matching this pattern.
        recursive: Walk sub-folders.
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default: the
            task fails, naming them, before anything is added), ``"follow"`` or ``"skip"``
            (see ``Dataset.add_files``).
        part: One part of the input (an item of ``DataverPartitionOperator``'s XCom, a
            ``dataver.Part`` or its ``to_dict()``): only its files. Map the task over the
            parts with ``.expand(part=...)``.
        writer: Add as this named writer of the version, one of many at work on it at once:
            its whole contribution is uploaded and committed when the task ends, and a
            later try with the same name replaces it. ``"auto"`` (default):
            ``<dag_id>/<run_id>/<task_id>/<map_index>`` when the task is mapped or has a
            ``part`` (every try of a task instance is one writer), else none. ``None``:
            no writer (the version's own changes, which ``DataverFinalizeOperator`` uploads
            from the local paths).

    Returns:
        The version's summary (XCom). As a writer, the task also pushes XCom
        ``contribution``: ``{"writer", "files", "removed", "bytes", "stored_bytes"}``.

    Example::

        add = DataverAddFilesOperator(task_id="add", version_id=create.output, path="/x")
    """

    template_fields = ("version_id", "path", "dataset_path", "wildcard", "part", "writer")

    def __init__(
        self,
        *,
        version_id: VersionRef,
        path: str | list[str] | None = None,
        dataset_path: str = "",
        wildcard: str | None = None,
        recursive: bool = True,
        symlinks: Symlinks = "refuse",
        part: PartArg = None,
        writer: str | None = AUTO,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.path = path
        self.dataset_path = dataset_path
        self.wildcard = wildcard
        self.recursive = recursive
        self.symlinks: Symlinks = symlinks
        self.part = part
        self.writer = writer

    def execute(self, context: Context) -> dict[str, Any]:
        path, part = self._input(self.path, "path")
        name = writer_name(context, self.writer, part)
        with self._version(self.version_id) as ds:
            if self._sealed_by_this_run(context, ds):
                return summary(ds)
            if name is None:
                added = ds.add_files(
                    path,
                    self.dataset_path,
                    wildcard=self.wildcard,
                    recursive=self.recursive,
                    symlinks=self.symlinks,
                    part=part,
                )
                self.log.info("Added %s to %s", added, ds.uri)
                return summary(ds)
            with ds.writer(name) as writer:
                writer.add_files(
                    path,
                    self.dataset_path,
                    wildcard=self.wildcard,
                    recursive=self.recursive,
                    symlinks=self.symlinks,
                    part=part,
                )
            self._contributed(context, writer)
            return summary(ds)


class DataverSyncFolderOperator(_Writes):
    """Make ``dataset_path`` of an Uploading version mirror a local folder.

    With a ``part``, only that part of the folder is mirrored (files of the version outside
    it are left alone), so tasks mapped over the parts each sync one.

    Args:
        version_id: The version id, or an upstream operator's summary.
        folder: The local folder; by default the ``part``'s source.
        dataset_path: The part of the dataset that mirrors it.
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default),
            ``"follow"`` or ``"skip"`` (see ``Dataset.add_files``).
        part: One part of the input (an item of ``DataverPartitionOperator``'s XCom, a
            ``dataver.Part`` or its ``to_dict()``): only its files. Map the task over the
            parts with ``.expand(part=...)``.
        writer: Add as this named writer of the version, one of many at work on it at once:
            its whole contribution is uploaded and committed when the task ends, and a
            later try with the same name replaces it. ``"auto"`` (default):
            ``<dag_id>/<run_id>/<task_id>/<map_index>`` when the task is mapped or has a
            ``part`` (every try of a task instance is one writer), else none. ``None``:
            no writer (the version's own changes, which ``DataverFinalizeOperator`` uploads
            from the local paths).

    Returns:
        The version's summary (XCom); as a writer, XCom ``contribution`` too (see
        ``DataverAddFilesOperator``).
    """

    template_fields = ("version_id", "folder", "dataset_path", "part", "writer")

    def __init__(
        self,
        *,
        version_id: VersionRef,
        folder: str | None = None,
        dataset_path: str = "",
        symlinks: Symlinks = "refuse",
        part: PartArg = None,
        writer: str | None = AUTO,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.folder = folder
        self.dataset_path = dataset_path
        self.symlinks: Symlinks = symlinks
        self.part = part
        self.writer = writer

    def execute(self, context: Context) -> dict[str, Any]:
        folder, part = self._input(self.folder, "folder")
        name = writer_name(context, self.writer, part)
        with self._version(self.version_id) as ds:
            if self._sealed_by_this_run(context, ds):
                return summary(ds)
            if name is None:
                removed, added, modified = ds.sync_folder(
                    folder, self.dataset_path, symlinks=self.symlinks, part=part
                )
            else:
                with ds.writer(name) as writer:
                    removed, added, modified = writer.sync_folder(
                        folder, self.dataset_path, symlinks=self.symlinks, part=part
                    )
                self._contributed(context, writer)
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
