"""Operators that build and read dataver dataset versions.

Each operator is thin: :class:`~dataver_airflow.hooks.DataverHook` opens the registry and the
dataver SDK does the work. Operators that act on a version return its summary as XCom::

    {"id", "name", "project", "version", "state", "uri", "stats"}

Operators that take a ``version_id`` accept either the id or such a summary (for example the
``output`` of an upstream dataver operator).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.sdk import Asset, AssetAlias, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

import dataver
from dataver_airflow.assets import (
    DATAVER_ASSET_ALIAS,
    asset_extra,
    asset_uri,
    dataset_asset,
    dataver_alias,
    openlineage_dataset,
    openlineage_namespace,
)
from dataver_airflow.hooks.dataver import DataverHook
from dataver_airflow.links import DataverVersionLink

if TYPE_CHECKING:
    from airflow.sdk import Context

_SUMMARY_KEYS = ("id", "name", "project", "version", "state", "uri", "stats")
_ANY_STATE = None
# The provenance keys that identify one task of one DAG run: a retry of that task resumes
# the Uploading version they name instead of starting another.
_RUN_KEY = ("dag_id", "run_id", "task_id", "map_index")
# Errors no retry can fix (a bad name, tag or version string, a parent that is not Final, an
# unknown version id): the task fails at once instead of retrying.
_BAD_INPUT = (dataver.ValidationError, dataver.InvalidTransitionError, dataver.VersionNotFoundError)

VersionRef = str | Mapping[str, Any]
Parents = str | Sequence[str] | None


def summary(ds: dataver.Dataset) -> dict[str, Any]:
    """The JSON-able XCom value of a version."""
    full = ds.to_dict()
    return {key: full[key] for key in _SUMMARY_KEYS}


def provenance(context: Context) -> dict[str, Any]:
    """Which task run built a version.

    Returns:
        ``dag_id``, ``run_id``, ``task_id``, ``map_index``, ``try_number``, ``logical_date``
        and ``task_instance_url`` (the task instance in the Airflow UI).
    """
    ti = context["ti"]
    logical_date = context.get("logical_date")
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index if ti.map_index is not None else -1,
        "try_number": ti.try_number,
        "logical_date": logical_date.isoformat() if logical_date is not None else None,
        "task_instance_url": ti.log_url,
    }


def _run_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(key, -1 if key == "map_index" else None) for key in _RUN_KEY)


def own_uploading_version(
    registry: dataver.Registry, name: str, project: str, context: Context
) -> dataver.Dataset | None:
    """The Uploading version an earlier try of this task (same DAG run) left behind, if any."""
    key = _run_key(provenance(context))
    for ds in registry.list(project=project, name=name, states=["uploading"]):
        if _run_key(ds.provenance) == key:
            # NOTE: list() gives a read-only view; get() loads it with its swap token.
            return registry.get(ds.id, states=_ANY_STATE)
    return None


def _version_id(ref: VersionRef) -> str:
    if isinstance(ref, Mapping):
        return str(ref["id"])
    if not ref:
        raise ValueError("version_id is empty")
    return str(ref)


def _parents_arg(parents: Parents) -> list[str] | Literal["latest"]:
    """The ``parents`` argument of ``Registry.create``: ``"latest"`` as is (the core takes the
    dataset's newest Final/Published version), else the version ids (ids or XCom summaries)."""
    if parents is None:
        return []
    if isinstance(parents, str):
        return "latest" if parents == "latest" else [parents]
    return [_version_id(p) for p in parents]


def _is_static(*values: Any) -> bool:
    """Whether every value is a plain string (no Jinja template, no XComArg)."""
    return all(isinstance(v, str) and "{{" not in v and "{%" not in v for v in values)


@contextmanager
def _fail_fast(what: str) -> Iterator[None]:
    """Turn errors in the task's input into a failure without retries, saying what failed."""
    try:
        yield
    except _BAD_INPUT as exc:
        raise AirflowFailException(f"{what}: {exc}") from exc


class _DataverOperator(BaseOperator):
    """Holds the connection id, opens the hook and remembers the version it acted on.

    ``dataver_version_id`` is the version this try created or used (None before that); the
    :class:`~dataver_airflow.links.DataverVersionLink` extra link points at its page.
    """

    operator_extra_links = (DataverVersionLink(),)

    def __init__(self, *, dataver_conn_id: str = DataverHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataver_conn_id = dataver_conn_id
        self.dataver_version_id: str | None = None

    @property
    def hook(self) -> DataverHook:
        return DataverHook(dataver_conn_id=self.dataver_conn_id)

    def _version(self, ref: VersionRef) -> dataver.Dataset:
        version_id = _version_id(ref)
        with _fail_fast(f"{type(self).__name__} cannot use version {version_id}"):
            ds = self.hook.get_registry().get(version_id, states=_ANY_STATE)
        self.dataver_version_id = ds.id
        return ds


class _AnnouncesVersions(_DataverOperator):
    """Emits an asset event on ``Asset("dataver://<project>/<name>")`` for the version it sealed.

    With a dataset known when the DAG is parsed (``static_dataset``), the asset is one of the
    task's ``outlets``, so Airflow draws it and its consumers in the DAG graph. Otherwise (and
    in mapped tasks) the task declares the ``dataver-versions`` asset alias and adds the event
    through it at run time. Either way the event's ``extra`` is
    :func:`~dataver_airflow.assets.asset_extra`.
    """

    def _declare_outlet(self, static_dataset: tuple[str, str] | None) -> None:
        outlet = dataset_asset(*static_dataset) if static_dataset else dataver_alias()
        self.outlets = [*self.outlets, outlet]

    def _announce(self, context: Context, ds: dataver.Dataset) -> None:
        extra, uri = asset_extra(ds), asset_uri(ds.project, ds.name)
        events = context["outlet_events"]
        static = next((o for o in self.outlets if isinstance(o, Asset) and o.uri == uri), None)
        if static is not None and not _is_mapped(context):
            events[static].extra.update(extra)
            return
        # NOTE: Airflow learns a mapped task's outlets only when it runs (partial() runs no
        # __init__ at parse time), so its asset may be unknown: announce through the alias,
        # which Airflow resolves (and creates the asset for) at run time.
        alias = next(
            (
                o
                for o in self.outlets
                if isinstance(o, AssetAlias) and o.name == DATAVER_ASSET_ALIAS
            ),
            None,
        )
        if alias is None:
            alias = dataver_alias()
        self.outlets = [*(o for o in self.outlets if o not in (static, alias)), alias]
        events[alias].add(dataset_asset(ds.project, ds.name), extra=extra)


def _is_mapped(context: Context) -> bool:
    map_index = context["ti"].map_index
    return map_index is not None and map_index >= 0


class _ReportsLineage(_AnnouncesVersions):
    """OpenLineage facets for a sealed version: its parents in, the version out."""

    _lineage: dict[str, Any] | None = None

    def _remember_lineage(self, ds: dataver.Dataset) -> None:
        registry = ds.registry
        parents = [registry.get(pid, states=_ANY_STATE) for pid in ds.parents]
        self._lineage = {
            "inputs": [(p.project, p.name, p.version) for p in parents],
            "output": (ds.project, ds.name, ds.version),
            "stats": ds.stats.model_dump(),
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Parents as OpenLineage inputs, the new version as the output.

        Datasets are namespace ``dataver://<project>``, name ``<name>``, with a
        ``version`` facet (the dataver version string); the output also carries
        ``outputStatistics`` (file count and logical bytes).

        Returns:
            An ``OperatorLineage``, or None without the OpenLineage provider (or before the
            task built a version).
        """
        del task_instance
        if self._lineage is None:
            return None
        try:
            from airflow.providers.common.compat.openlineage.facet import OutputDataset
            from airflow.providers.openlineage.extractors import OperatorLineage
            from openlineage.client.facet_v2 import (
                dataset_version_dataset,
                output_statistics_output_dataset,
            )
        except ImportError:  # NOTE: the OpenLineage provider is optional
            return None

        def version_facet(version: str) -> dict[str, Any]:
            return {
                "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                    datasetVersion=version
                )
            }

        project, name, version = self._lineage["output"]
        stats = self._lineage["stats"]
        output = OutputDataset(
            namespace=openlineage_namespace(project),
            name=name,
            facets=version_facet(version),
            outputFacets={
                "outputStatistics": (
                    output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        size=stats["logical_bytes"], fileCount=stats["files"]
                    )
                )
            },
        )
        inputs = [
            openlineage_dataset(project, name, version_facet(version))
            for project, name, version in self._lineage["inputs"]
        ]
        return OperatorLineage(inputs=inputs, outputs=[output])


class DataverCreateOperator(_DataverOperator):
    """Create a new version (state Uploading) of dataset ``project/name``.

    A retry of the task (same DAG run, same task) resumes the Uploading version its earlier
    try created instead of creating another.

    Args:
        name: Dataset name.
        project: Dataset project.
        parents: ``"latest"`` (the newest Final/Published version, if any), a list of version
            ids, or None.
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

    def _create(self, context: Context) -> dataver.Dataset:
        """Resume this task's own Uploading version (a retry), or create one."""
        registry = self.hook.get_registry()
        what = f"{type(self).__name__} cannot create a version of {self.project}/{self.name}"
        with _fail_fast(what):
            ds = own_uploading_version(registry, self.name, self.project, context)
            if ds is not None:
                self.log.info(
                    "Resuming %s (%s), left Uploading by try %s of this task",
                    ds.uri,
                    ds.id,
                    ds.provenance.get("try_number"),
                )
            else:
                ds = registry.create(
                    self.name,
                    project=self.project,
                    parents=_parents_arg(self.parents),
                    version=self.version,
                    tags=self.tags,
                    description=self.description,
                    metadata=self.metadata,
                    provenance=provenance(context),
                )
                self.log.info("Created %s (%s)", ds.uri, ds.id)
        self.dataver_version_id = ds.id
        return ds

    def execute(self, context: Context) -> dict[str, Any]:
        return summary(self._create(context))


class DataverAddFilesOperator(_DataverOperator):
    """Add local files to an Uploading version (``Dataset.add_files``).

    Args:
        version_id: The version id, or an upstream operator's summary.
        path: A local file or folder.
        dataset_path: Where in the dataset the files go.
        wildcard: Only files matching this pattern.
        recursive: Walk sub-folders.

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
    """Make ``dataset_path`` of an Uploading version mirror a local folder.

    Args:
        version_id: The version id, or an upstream operator's summary.
        folder: The local folder.
        dataset_path: The part of the dataset that mirrors it.

    Returns:
        The version's summary (XCom).
    """

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
        ds = self._version(self.version_id)
        removed = ds.remove_files(self.pattern, recursive=self.recursive)
        self.log.info("Removed %d files from %s", removed, ds.uri)
        return summary(ds)


class DataverFinalizeOperator(_ReportsLineage):
    """Seal an Uploading version (state Final); uploads pending content first by default.

    Emits an asset event on ``Asset("dataver://<project>/<name>")`` (through the
    ``dataver-versions`` alias) and reports OpenLineage facets. Idempotent: a version that is
    already Final or Published (an earlier try sealed it) is announced as it is.

    Args:
        version_id: The version id, or an upstream operator's summary.
        auto_upload: Upload pending content before sealing.

    Returns:
        The version's summary (XCom).
    """

    template_fields = ("version_id",)

    def __init__(self, *, version_id: VersionRef, auto_upload: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.auto_upload = auto_upload
        self._declare_outlet(None)

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        if ds.state in (dataver.State.FINAL, dataver.State.PUBLISHED):
            self.log.info("%s is already %s", ds.uri, ds.state.value)
        else:
            with _fail_fast(f"cannot finalize {ds.uri}"):
                ds.finalize(auto_upload=self.auto_upload)
            self.log.info("Finalized %s", ds.uri)
        self._remember_lineage(ds)
        self._announce(context, ds)
        return summary(ds)


class DataverPublishOperator(_AnnouncesVersions):
    """Publish a Final version (read-only for good).

    Emits an asset event on ``Asset("dataver://<project>/<name>")`` (through the
    ``dataver-versions`` alias). Idempotent: an already Published version is announced as it is.

    Args:
        version_id: The version id, or an upstream operator's summary.

    Returns:
        The version's summary (XCom).
    """

    template_fields = ("version_id",)

    def __init__(self, *, version_id: VersionRef, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self._declare_outlet(None)

    def execute(self, context: Context) -> dict[str, Any]:
        ds = self._version(self.version_id)
        if ds.state is dataver.State.PUBLISHED:
            self.log.info("%s is already published", ds.uri)
        else:
            with _fail_fast(f"cannot publish {ds.uri}"):
                ds.publish()
            self.log.info("Published %s", ds.uri)
        self._announce(context, ds)
        return summary(ds)


class DataverGetOperator(_DataverOperator):
    """Fetch a version into the local cache; returns the local folder's path.

    Give ``version_id``, or ``name`` (with ``project`` and optionally ``version``) for the newest
    Final/Published version of a dataset.

    Args:
        version_id: The version id, or an upstream operator's summary.
        name: Dataset name (without ``version_id``).
        project: Dataset project.
        version: An exact version string.
        paths: Only these files or folders of the version.

    Returns:
        The local folder's path (XCom).

    Raises:
        AirflowFailException: No such version, or it is not Final/Published.
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
        with _fail_fast("DataverGetOperator found no readable version"):
            if self.version_id:
                ds = registry.get(_version_id(self.version_id))
            else:
                ds = registry.get(name=self.name, project=self.project, version=self.version)
        self.dataver_version_id = ds.id
        local = ds.get_local_copy(self.paths)
        self.log.info("Local copy of %s at %s", ds.uri, local)
        return str(local)


class DataverVersionOperator(DataverCreateOperator, _ReportsLineage):
    """Version a folder in one step: create, sync the folder, upload, finalize (and publish).

    Failure semantics:

    - a retry of the task (same DAG run) resumes the Uploading version of the failed try: the
      sync and upload send only what is still missing, and no second version appears;
    - when the task fails for good (no retry left, or input no retry can fix), the version is
      marked Failed with the error;
    - when Airflow kills the task (``on_kill``: the task was stopped, or hit its
      ``execution_timeout``), the version is Aborted.

    On success it emits an asset event on ``Asset("dataver://<project>/<name>")`` (a declared
    outlet when ``name`` and ``project`` are plain strings, else through the
    ``dataver-versions`` alias) and reports OpenLineage facets (parents in, version out).

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

    Returns:
        The version's summary (XCom).

    Raises:
        FileNotFoundError: ``folder`` is not a folder (checked before any version is created).
        AirflowFailException: Invalid names, tags, metadata or version, or a bad parent.

    Example::

        images = DataverVersionOperator(
            task_id="version_images", name="images", project="vision", folder="/data/images"
        )
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
        self._declare_outlet((project, name) if _is_static(project, name) else None)

    def execute(self, context: Context) -> dict[str, Any]:
        if not os.path.isdir(self.folder):
            # NOTE: checked first, so a missing export leaves no version behind at all.
            raise FileNotFoundError(
                f"{type(self).__name__}: folder {self.folder!r} does not exist or is not a "
                f"folder; no version of {self.project}/{self.name} was created"
            )
        ds = self._dataset = self._create(context)
        try:
            self._build(ds)
        except Exception as exc:
            self._after_failure(ds, exc, context)
            raise
        # NOTE: _dataset stays set: on_kill, which Airflow calls after a timeout stopped
        # execute, must still find the version (it does nothing unless it is Uploading).
        self._remember_lineage(ds)
        self._announce(context, ds)
        self.log.info("Version %s is %s", ds.uri, ds.state.value)
        return summary(ds)

    def _build(self, ds: dataver.Dataset) -> None:
        removed, added, modified = ds.sync_folder(self.folder, self.dataset_path)
        self.log.info("%d removed, %d added, %d modified", removed, added, modified)
        stored = ds.upload()
        self.log.info("Uploaded %d new bytes", stored)
        ds.finalize()
        if self.publish:
            ds.publish()

    def _after_failure(self, ds: dataver.Dataset, exc: Exception, context: Context) -> None:
        """Leave the version Uploading for the next try, or mark it Failed for good."""
        ti = context["ti"]
        retries_left = ti.try_number <= ti.max_tries
        if retries_left and not isinstance(exc, AirflowFailException):
            self.log.warning(
                "%s stays Uploading: try %d of %d failed, the retry resumes it",
                ds.uri,
                ti.try_number,
                ti.max_tries + 1,
            )
            return
        self._end(ds, failed=str(exc) or type(exc).__name__)

    def on_kill(self) -> None:
        """Abort the version this task was building (if it is still Uploading)."""
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
