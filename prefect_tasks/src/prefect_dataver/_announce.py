"""What happens when a version is sealed or published: events, asset, artifacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect.context import TaskRunContext

from prefect_dataver._registry import RegistryLike, version_page
from prefect_dataver.artifacts import publish_artifacts
from prefect_dataver.assets import materialize_version
from prefect_dataver.events import emit_version_event

if TYPE_CHECKING:
    import dataver


def announce(
    registry: RegistryLike, ds: dataver.Dataset, *, finalized: bool, published: bool
) -> None:
    """Tell Prefect about a version that just became Final and/or Published.

    Emits the events, materialises the dataset asset (when it became Final) and, inside a
    run, creates the artifacts.
    """
    page = version_page(registry, ds.id)
    if finalized:
        emit_version_event(ds, "finalized", page)
    if published:
        emit_version_event(ds, "published", page)
    # NOTE: artifacts and the asset's materialisation task need a run to belong to.
    if TaskRunContext.get() is None:
        return
    if finalized:
        materialize_version(ds, page)
    publish_artifacts(ds, page)
