"""Delete a version record; content stays until ``gc`` proves nothing uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataver.errors import HasChildrenError, InvalidTransitionError
from dataver.objects.upload import clear_journal
from dataver.versions import repo
from dataver.versions.state import State

_LIVE = frozenset({State.UPLOADING, State.FINAL, State.PUBLISHED})

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.versions.records import VersionRecord


def delete_version(backend: Backend, version_id: str, *, force: bool) -> VersionRecord:
    """Delete a version; return its last record.

    Raises:
        VersionNotFoundError: No such version.
        HasChildrenError: Live (Uploading, Final or Published) versions use it as a parent,
            even with ``force``: deleting it would leave them without their history. Failed
            and Aborted children do not hold their parents.
        InvalidTransitionError: It is Published, or still Uploading, and ``force`` is False.
    """
    store = backend.store
    record, _ = repo.load(store, version_id)
    children = sorted(
        r.id for r in repo.iter_all(store) if version_id in r.parents and r.state in _LIVE
    )
    if children:
        raise HasChildrenError(
            f"version {version_id} is a parent of {len(children)} versions "
            f"({', '.join(children[:5])}); delete them first",
            version_id=version_id,
            children=children,
        )
    if record.state in (State.PUBLISHED, State.UPLOADING) and not force:
        hint = "it is published" if record.state is State.PUBLISHED else "it is still uploading"
        raise InvalidTransitionError(
            f"refusing to delete version {version_id}: {hint}; pass force=True",
            version_id=version_id,
            state=record.state.value,
        )
    repo.delete(store, record)
    clear_journal(store, version_id)
    backend.cache.drop_version(version_id)
    return record
