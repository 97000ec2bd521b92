"""``DataverVersionOperator``: a folder as a version in one step (``Registry.version_folder``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

import dataver
from dataver import State
from dataver_airflow.operators._base import (
    BAD_INPUT,
    Parents,
    ReportsLineage,
    is_static,
    provenance,
    resume_key,
    summary,
)
from dataver_airflow.operators.build import DataverCreateOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from dataver.api.steps import FolderVersion
    from dataver.policies import Symlinks, Unchanged


class DataverVersionOperator(DataverCreateOperator, ReportsLineage):
    """Version a folder in one step: create, sync the folder, upload, finalize (and publish).

    A thin wrapper over :meth:`dataver.Registry.version_folder`, so it gives the SDK's (and
    Prefect's, and ``dataver sync``'s) answers:

    - an **unchanged folder** (it holds what its one parent holds): ``unchanged="reuse"``
      (default) makes no version and returns the parent's summary (no asset event: nothing
      new was made); ``"new"`` builds a version anyway; ``"skip"`` skips the task;
    - a **retry** of the task (same DAG run) resumes the version of the failed try (its
      ``provenance["resume_key"]`` is ``airflow:<dag_id>/<run_id>/<task_id>/<map_index>``):
      the sync and upload send only what is still missing, and no second version appears;
    - when the task **fails for good** (no retry left), the version is marked Failed with the
      error; input no retry can fix fails the task at once, before a version exists;
    - when Airflow **kills** the task (``on_kill``, or its ``execution_timeout`` passed), the
      version is Aborted.

    On success it announces the version with one asset event on
    ``dataver://<project>/<name>`` (``extra["payload"]``: the version; the asset is a
    declared outlet reference when ``name`` and ``project`` are plain strings, else the
    event goes through the ``dataver-versions`` alias) and reports OpenLineage facets
    (parents in, version out). Once per version: a version this DAG publishes later with a
    ``DataverPublishOperator`` (``version_id=<this task>.output``) is announced by that task
    instead. A cleared or retried task that takes over the version its earlier try sealed
    announces it then. What the step did (``"built"``, ``"resumed"``, ``"reused"``,
    ``"skipped"``) is the XCom ``outcome``.

    Args:
        name: Dataset name.
        project: Dataset project.
        folder: The local folder to version.
        dataset_path: Where in the dataset the folder goes.
        parents: ``"latest"`` (default), a list of version ids (or summaries), or None.
        unchanged: What an unchanged folder makes: ``"reuse"`` (default), ``"new"``, ``"skip"``.
        version: A semantic version; by default the next patch version.
        tags: Tags of the version.
        metadata: A JSON object of user metadata.
        publish: Publish the version after finalizing it.
        announce: Emit the asset event: None (default) as described above; True always;
            False never.
        symlinks: Symbolic links that lead outside the folder: ``"refuse"`` (default),
            ``"follow"`` or ``"skip"`` (see ``Dataset.add_files``).
        allow_empty: Version a folder that holds no file (default: the task fails before
            creating anything, since an export that wrote nothing is usually a failed one).

    Returns:
        The version's summary (XCom).

    Raises:
        dataver.NotFoundError: ``folder`` is not a folder (checked before any version is
            created; retried, in case the export lands late).
        AirflowFailException: Invalid names, tags, metadata, version or ``unchanged``, a bad
            parent, or an empty folder without ``allow_empty``.
        AirflowSkipException: ``unchanged="skip"`` and the folder is unchanged.

    Example::

        images = DataverVersionOperator(
            task_id="version_images", name="images", project="vision", folder="/data/images"
        )
    """

    template_fields = (
        *DataverCreateOperator.template_fields,
        "folder",
        "dataset_path",
        "unchanged",
    )

    def __init__(
        self,
        *,
        folder: str,
        dataset_path: str = "",
        parents: Parents = "latest",
        unchanged: Unchanged = "reuse",
        publish: bool = False,
        symlinks: Symlinks = "refuse",
        allow_empty: bool = False,
        announce: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parents=parents, **kwargs)  # name, project, version, tags, metadata
        self.folder = folder
        self.dataset_path = dataset_path
        self.unchanged: Unchanged = unchanged
        self.publish = publish
        self.announce = announce
        self.symlinks: Symlinks = symlinks
        self.allow_empty = allow_empty
        self._resume_key: str | None = None
        static = (self.project, self.name)
        self._declare_outlet(static if is_static(*static) else None)

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        self._resume_key = key = resume_key(context)
        with self.registry() as registry:
            try:
                made = registry.version_folder(
                    self.name,
                    self.folder,
                    self.project,
                    dataset_path=self.dataset_path,
                    parents=self.parents,
                    unchanged=self.unchanged,
                    resume_key=key,
                    version=self.version,
                    tags=self.tags,
                    description=self.description,
                    metadata=self.metadata,
                    provenance=provenance(context),
                    publish=False,  # NOTE: below, after the claim a watcher reads
                    symlinks=self.symlinks,
                    allow_empty=self.allow_empty,
                    keep_on_error=ti.try_number <= ti.max_tries,  # NOTE: a retry resumes it
                )
                if self.publish and made.dataset is not None:
                    self._publish(context, made)
            except BaseException as exc:
                self._after_failure(registry, exc)
                raise
            ds = made.dataset
            if ds is not None and made.outcome != "reused":
                self._remember_lineage(ds)
        ti.xcom_push(key="outcome", value=made.outcome)
        if ds is None:
            raise AirflowSkipException(
                f"{self.folder} holds what version {made.parent} holds: no version made "
                "(unchanged='skip')"
            )
        self.dataver_version_id = ds.id
        if made.outcome == "reused":
            self.log.info("%s is unchanged: reusing %s (%s)", self.folder, ds.uri, ds.id)
            self._announce_nothing(ds)
        else:
            self.log.info(
                "%s %s: %d removed, %d added, %d modified, %d new bytes stored; it is %s",
                made.outcome.capitalize(),
                ds.uri,
                made.removed,
                made.added,
                made.modified,
                made.stored_bytes,
                ds.state.value,
            )
            self._announce(context, ds, taken_over=made.outcome == "resumed")
        return summary(ds)

    def _publish(self, context: Context, made: FolderVersion) -> None:
        """Publish the Final version (a reused parent too, as ``version_folder`` does);
        a version this task announces is claimed first (see ``_claim``)."""
        ds = made.dataset
        if ds is None or ds.state is not State.FINAL:
            return
        if made.outcome != "reused":
            self._claim(context, ds)
        ds.publish()

    def _after_failure(self, registry: dataver.Registry, exc: BaseException) -> None:
        """Link the version the failure left, and say what became of it; or, when it left
        none and no retry can fix the input, fail the task at once."""
        try:
            left = registry.find_resumable(
                str(self._resume_key), name=self.name, project=self.project, states=list(State)
            )
        except dataver.DataverError:
            left = None
        if left is None and isinstance(exc, BAD_INPUT):
            raise AirflowFailException(f"{self._what()}: {exc}") from exc
        if left is not None:
            self.dataver_version_id = left.id
            if left.state is State.UPLOADING:
                self.log.warning("%s stays Uploading: the retry resumes it", left.uri)
            elif left.error:  # NOTE: Failed (the last try), or Aborted (interrupted)
                self.log.warning("Marked %s %s: %s", left.uri, left.state.value.title(), left.error)

    def on_kill(self) -> None:
        """Abort the version this task was building (if it is still Uploading)."""
        if self._resume_key is None:
            return
        try:
            with self.registry() as registry:
                ds = registry.find_resumable(self._resume_key, name=self.name, project=self.project)
                if ds is not None:
                    ds.abort("task killed")
                    self.log.warning("Aborted %s", ds.uri)
        except dataver.DataverError as exc:
            self.log.warning("Could not abort the version of %s: %s", self._resume_key, exc)
