"""Operators that seal a version: finalize (state Final) and publish (read-only for good)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

import dataver
from dataver_airflow.operators._base import (
    AnnouncesVersions,
    ReportsLineage,
    VersionRef,
    fail_fast,
    summary,
    version_source,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow.sdk import Context


@contextmanager
def writers_conflict(uri: str) -> Iterator[None]:
    """Writers that gave paths different content fail the task at once: a retry would
    gather the same contributions again."""
    try:
        yield
    except dataver.ConflictError as exc:
        if getattr(exc, "paths", None) is None:
            raise  # NOTE: writers still at work, or a concurrent change: a retry may pass
        raise AirflowFailException(f"cannot finalize {uri}: {exc}") from exc


class DataverFinalizeOperator(ReportsLineage):
    """Seal an Uploading version (state Final); uploads pending content first by default.

    Reports OpenLineage facets, and announces the version with an asset event on
    ``dataver://<project>/<name>`` unless the DAG publishes it: once per version, by
    default the event comes from the ``DataverPublishOperator`` downstream that publishes
    the same version (``version_id`` from the same upstream task, or this task's
    ``output``); without one, from this task. Idempotent: a version that is already Final or
    Published (an earlier try sealed it) is taken as it is, and announced unless an asset
    event announced it already.

    The version's content is its own changes plus every writer's committed contribution
    (mapped ``DataverAddFilesOperator`` or ``DataverSyncFolderOperator`` tasks, other DAGs,
    any process), merged in one pass (``Dataset.finalize``).

    Args:
        version_id: The version id, or an upstream operator's summary.
        auto_upload: Upload pending content before sealing.
        announce: Emit the asset event: None (default) decides as above; True always;
            False never.
        on_conflict: Two writers gave a path different content: ``"error"`` (default: the
            task fails without retries, naming the paths and writers) or
            ``"writer-order"`` (the content of the writer whose name sorts last wins).
        wait_for_writers: Seconds to wait for writers still at work (default 0: none may
            be). A writer still at work after that fails the try (``WritersActiveError``,
            retried like any error); a killed writer stops counting once its lease
            expires.

    Returns:
        The version's summary (XCom).
    """

    template_fields = ("version_id", "on_conflict")

    def __init__(
        self,
        *,
        version_id: VersionRef,
        auto_upload: bool = True,
        announce: bool | None = None,
        on_conflict: str = "error",
        wait_for_writers: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self.auto_upload = auto_upload
        self.announce = announce
        self.on_conflict = on_conflict
        self.wait_for_writers = wait_for_writers
        self._version_source = version_source(version_id)
        self._declare_outlet(None)

    def execute(self, context: Context) -> dict[str, Any]:
        with self._version(self.version_id) as ds:
            sealed = ds.state in (dataver.State.FINAL, dataver.State.PUBLISHED)
            if sealed:
                self.log.info("%s is already %s", ds.uri, ds.state.value)
            else:
                with fail_fast(f"cannot finalize {ds.uri}"), writers_conflict(ds.uri):
                    ds.finalize(
                        auto_upload=self.auto_upload,
                        on_conflict=self.on_conflict,  # type: ignore[arg-type]
                        wait_for_writers=float(self.wait_for_writers),
                    )
                self.log.info("Finalized %s", ds.uri)
            self._remember_lineage(ds)
        self._announce(context, ds, taken_over=sealed)
        return summary(ds)


class DataverPublishOperator(AnnouncesVersions):
    """Publish a Final version (read-only for good), and announce it.

    Emits the version's asset event on ``dataver://<project>/<name>`` (the
    ``DataverFinalizeOperator`` upstream that finalized the same version leaves it to this
    task). Idempotent: an already Published version is taken as it is, and announced unless
    an asset event announced it already (a retry, or a cleared task, announces what its
    failed try published, once).

    Args:
        version_id: The version id, or an upstream operator's summary.

    Returns:
        The version's summary (XCom).
    """

    template_fields = ("version_id",)
    # NOTE: read by the finalize step upstream (AnnouncesVersions._published_downstream).
    publishes_versions = True

    def __init__(self, *, version_id: VersionRef, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version_id = version_id
        self._version_source = version_source(version_id)
        self._declare_outlet(None)

    def execute(self, context: Context) -> dict[str, Any]:
        with self._version(self.version_id) as ds:
            sealed = ds.state is dataver.State.PUBLISHED
            if sealed:
                self.log.info("%s is already published", ds.uri)
            else:
                with fail_fast(f"cannot publish {ds.uri}"):
                    if ds.state is dataver.State.FINAL:
                        self._claim(context, ds)
                    ds.publish()
                self.log.info("Published %s", ds.uri)
        self._announce(context, ds, taken_over=sealed)
        return summary(ds)
