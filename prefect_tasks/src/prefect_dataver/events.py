"""Prefect events of versions: ``dataver.version.finalized`` and ``dataver.version.published``.

The resource is the version (``dataver.version.<id>``) with its dataset, version string,
state and registry as labels; the dataset is a related resource (role ``dataset``). Inside
a run, Prefect adds the flow run and task run as related resources too.

Each event carries the state it announces (``dataver.state`` and the payload's ``state``):
``final`` for ``finalized`` and ``published`` for ``published``, also when one task
finalized and published the version (and so emits both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from prefect.events import emit_event

from prefect_dataver.models import VersionInfo

if TYPE_CHECKING:
    from prefect.events.schemas.events import Event

    import dataver

FINALIZED = "dataver.version.finalized"
PUBLISHED = "dataver.version.published"
_ANNOUNCED_STATE = {"finalized": "final", "published": "published"}


def version_resource_id(version_id: str) -> str:
    """``dataver.version.<id>``: the Prefect resource id of a version."""
    return f"dataver.version.{version_id}"


def emit_version_event(
    ds: dataver.Dataset, what: Literal["finalized", "published"], page: str
) -> Event | None:
    """Emit ``dataver.version.<what>`` for a version.

    Args:
        ds: The version.
        what: ``finalized`` or ``published``; the event's state is ``final`` or ``published``
            whatever ``ds`` is now (a task that also published it emits ``finalized`` too).
        page: The version's web page.

    Returns:
        The event, or None where Prefect does not emit events (no API configured).
    """
    state = _ANNOUNCED_STATE[what]
    resource = {
        "prefect.resource.id": version_resource_id(ds.id),
        "prefect.resource.name": ds.uri,
        "dataver.version.id": ds.id,
        "dataver.project": ds.project,
        "dataver.name": ds.name,
        "dataver.version": ds.version,
        "dataver.state": state,
        "dataver.registry": ds.registry.url,
        "dataver.url": page,
    }
    related = [
        {
            "prefect.resource.id": f"dataver.dataset.{ds.project}/{ds.name}",
            "prefect.resource.role": "dataset",
            "prefect.resource.name": f"{ds.project}/{ds.name}",
        },
        *(
            {"prefect.resource.id": version_resource_id(p), "prefect.resource.role": "parent"}
            for p in ds.parents
        ),
    ]
    payload = {
        **VersionInfo.from_dataset(ds).model_dump(),
        "state": state,
        "parents": list(ds.parents),
    }
    return emit_event(
        event=f"dataver.version.{what}", resource=resource, related=related, payload=payload
    )
