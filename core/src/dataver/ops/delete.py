"""Delete a version; content stays until ``gc`` proves nothing uses it.

A delete is three compare-and-swaps on the version record, so that its checks and its act
cannot be separated by another writer:

1. **mark** the record ``deleting`` (with the token of the record whose state was checked:
   a publish, finalize or abort in between makes the swap fail, and the checks run again);
2. **look** for live children; a child created from now on re-reads its parents after
   writing its own record and gives up when it sees the mark (:mod:`dataver.ops.create`), so
   either the look finds the child or the child finds the mark — never neither;
3. **tombstone** the record (``deleted_at``), then purge it: release the version string
   and remove the record, both conditionally (:func:`dataver.versions.repo.purge`).

Found children un-mark the record and refuse. A mark whose delete died expires after
``DATAVER_LEASE_SECONDS``; a delete that outlives its own mark gives up rather than act on a
check that may be stale.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING

from dataver.errors import ConflictError, HasChildrenError, InvalidTransitionError
from dataver.objects.upload import clear_journal
from dataver.ops.transition import is_being_deleted, make_lease, tombstone_record
from dataver.versions import repo
from dataver.versions.records import utcnow
from dataver.versions.state import LIVE, State

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.storage.base import Store
    from dataver.versions.records import Lease, VersionRecord

_ATTEMPTS = 20


def delete_version(backend: Backend, version_id: str, *, force: bool) -> VersionRecord:
    """Delete a version; return its last record.

    Raises:
        VersionNotFoundError: No such version (or another delete removed it first).
        HasChildrenError: Live (Uploading, Final or Published) versions use it as a parent,
            even with ``force``: deleting it would leave them without their history. Failed
            and Aborted children do not hold their parents.
        InvalidTransitionError: It is Published, or still Uploading, and ``force`` is False.
        ConflictError: Another process is deleting it, or kept changing it meanwhile.
    """
    store = backend.store
    mark = make_lease(backend.settings.lease_seconds, f"delete:{uuid.uuid4().hex}")
    for _ in range(_ATTEMPTS):
        record, token = repo.load(store, version_id)
        _check_deletable(record, force, mark)
        marked = record.model_copy(update={"deleting": mark})
        try:
            marked, token = repo.save(store, marked, token)
        except ConflictError:
            continue  # NOTE: changed since it was checked: load and check again
        _refuse_if_children(backend, marked, token)
        if mark.expires_at <= utcnow():
            _unmark(store, marked, token)
            raise ConflictError(
                f"deleting version {version_id} took longer than its mark lasts "
                f"({backend.settings.lease_seconds:g} s, DATAVER_LEASE_SECONDS); try again",
                version_id=version_id,
            )
        try:
            tombstone, token = repo.save(store, tombstone_record(marked), token)
        except ConflictError:
            continue  # NOTE: e.g. published after the mark: its rules apply again
        repo.purge(store, tombstone, token)
        clear_journal(store, version_id)
        backend.cache.drop_version(version_id)
        return record
    raise ConflictError(
        f"version {version_id} kept changing while it was being deleted; try again",
        version_id=version_id,
    )


def _check_deletable(record: VersionRecord, force: bool, mark: Lease) -> None:
    ours = record.deleting is not None and record.deleting.owner == mark.owner
    if is_being_deleted(record) and not ours:
        raise ConflictError(
            f"version {record.id} is being deleted by another process",
            version_id=record.id,
        )
    if record.state in (State.PUBLISHED, State.UPLOADING) and not force:
        if record.state is State.PUBLISHED:
            hint = "it is published (read-only); pass force=True to delete it anyway"
        else:
            hint = "it is still uploading (abort it first); pass force=True to delete it anyway"
        raise InvalidTransitionError(
            f"refusing to delete version {record.id}: {hint}",
            version_id=record.id,
            state=record.state.value,
            action="delete",
        )


def _refuse_if_children(backend: Backend, marked: VersionRecord, token: str) -> None:
    store = backend.store
    children = sorted(
        r.id for r in repo.iter_all(store) if marked.id in r.parents and r.state in LIVE
    )
    if not children:
        return
    _unmark(store, marked, token)
    count = f"{len(children)} live version" + ("s" if len(children) != 1 else "")
    raise HasChildrenError(
        f"version {marked.id} is a parent of {count} ({', '.join(children[:5])}); "
        "delete them first",
        version_id=marked.id,
        children=children,
    )


def _unmark(store: Store, marked: VersionRecord, token: str) -> None:
    # NOTE: a conflict means someone changed it since, keeping the mark: it expires on its own
    with contextlib.suppress(ConflictError):
        repo.save(store, marked.model_copy(update={"deleting": None}), token)
