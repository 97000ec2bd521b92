"""Operators that seal a version: finalize (state Final) and publish (read-only for good)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dataver
from dataver_airflow.operators._base import (
    AnnouncesVersions,
    ReportsLineage,
    VersionRef,
    fail_fast,
    summary,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class DataverFinalizeOperator(ReportsLineage):
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
        with self._version(self.version_id) as ds:
            if ds.state in (dataver.State.FINAL, dataver.State.PUBLISHED):
                self.log.info("%s is already %s", ds.uri, ds.state.value)
            else:
                with fail_fast(f"cannot finalize {ds.uri}"):
                    ds.finalize(auto_upload=self.auto_upload)
                self.log.info("Finalized %s", ds.uri)
            self._remember_lineage(ds)
        self._announce(context, ds)
        return summary(ds)


class DataverPublishOperator(AnnouncesVersions):
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
        with self._version(self.version_id) as ds:
            if ds.state is dataver.State.PUBLISHED:
                self.log.info("%s is already published", ds.uri)
            else:
                with fail_fast(f"cannot publish {ds.uri}"):
                    ds.publish()
                self.log.info("Published %s", ds.uri)
        self._announce(context, ds)
        return summary(ds)
