"""State changes of a version: finalize, publish, abort, fail, lease renewal."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import TYPE_CHECKING

from dataver.diff import diff_manifests
from dataver.errors import IntegrityError, PendingUploadError
from dataver.layout import content_key, writers_prefix
from dataver.manifest.reader import Manifest
from dataver.objects.upload import clear_journal, journal_stored_bytes
from dataver.versions.records import Lease, Stats, VersionRecord, utcnow
from dataver.versions.state import State, check_transition
from dataver.workers import each

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.manifest.entry import Entry


def make_lease(lease_seconds: float, owner: str | None = None) -> Lease:
    """A fresh lease, owned by the current process unless ``owner`` says otherwise."""
    now = utcnow()
    return Lease(
        owner=owner or f"{socket.gethostname()}:{os.getpid()}",
        renewed_at=now,
        expires_at=now + timedelta(seconds=lease_seconds),
    )


def finalize_record(backend: Backend, record: VersionRecord) -> VersionRecord:
    """Return the Final record of an Uploading version whose content is all stored.

    Computes the stats against the parents and checks that every object holding new
    content exists.

    Raises:
        InvalidTransitionError: The version is not Uploading.
        PendingUploadError: Some content is not uploaded yet.
        IntegrityError: Stored content is missing.
    """
    check_transition(record.state, State.FINAL, version_id=record.id)
    if record.staged is not None:
        raise ValueError(f"version {record.id}: apply its staged changes before finalizing")
    store = backend.store
    staged = Manifest(store, record.manifest, record.hash_algorithm)
    if staged.root.pending:
        files = "1 file" if staged.root.pending == 1 else f"{staged.root.pending} files"
        raise PendingUploadError(
            f"version {record.id} has {files} not uploaded: call upload() "
            "first or finalize(auto_upload=True)",
            version_id=record.id,
            pending=staged.root.pending,
        )
    base = Manifest(store, record.base_manifest, record.hash_algorithm)
    diff = diff_manifests(base, staged)
    _check_stored(backend, diff.new_entries, record.id)
    stats = Stats(
        files=staged.root.files,
        logical_bytes=staged.root.bytes,
        stored_bytes=max(record.stats.stored_bytes, journal_stored_bytes(store, record.id)),
        added=len(diff.added),
        modified=len(diff.modified),
        removed=len(diff.removed),
        renamed=len(diff.renamed),
        links=staged.root.links,
    )
    return record.model_copy(
        update={"state": State.FINAL, "finalized_at": utcnow(), "lease": None, "stats": stats}
    )


def _check_stored(backend: Backend, entries: tuple[Entry, ...], version_id: str) -> None:
    keys = {content_key(e) for e in entries if e.url is None}
    ordered = sorted(keys)
    found = each(backend.store.exists, ordered, name="dataver-check")
    missing = [k for k, there in zip(ordered, found, strict=True) if not there]
    if missing:
        raise IntegrityError(
            f"version {version_id} cannot be finalized: {len(missing)} stored objects are "
            f"missing (first: {missing[0]}); run upload() again",
            version_id=version_id,
            missing=missing[:20],
        )


def after_final(backend: Backend, record: VersionRecord) -> None:
    """Housekeeping once a version left Uploading: drop its upload journal (every
    writer's) and its writer records."""
    store = backend.store
    clear_journal(store, record.id)
    each(store.delete, [info.key for info in store.list(writers_prefix(record.id))])


def publish_record(record: VersionRecord) -> VersionRecord:
    """Return the Published record of a Final version."""
    check_transition(record.state, State.PUBLISHED, version_id=record.id)
    return record.model_copy(update={"state": State.PUBLISHED, "published_at": utcnow()})


def end_record(record: VersionRecord, state: State, reason: str | None) -> VersionRecord:
    """Return the Aborted or Failed record of an Uploading version."""
    check_transition(record.state, state, version_id=record.id)
    return record.model_copy(update={"state": state, "error": reason, "lease": None})


def tombstone_record(record: VersionRecord) -> VersionRecord:
    """Return the tombstone of a version being deleted (``deleted_at`` set).

    Any state may be deleted; who may delete what is the delete operation's rule
    (:mod:`dataver.ops.delete`).
    """
    return record.model_copy(
        update={"deleted_at": utcnow(), "lease": None, "deleting": None, "staged": None}
    )


def is_tombstone(record: VersionRecord) -> bool:
    """Whether the record is a deleted version's, about to be removed."""
    return record.deleted_at is not None


def is_being_deleted(record: VersionRecord) -> bool:
    """Whether a delete is checking this version for children right now (unexpired mark)."""
    return record.deleting is not None and record.deleting.expires_at > utcnow()


def renew_record(backend: Backend, record: VersionRecord) -> VersionRecord:
    """Return the record with its writer's lease renewed."""
    owner = record.lease.owner if record.lease else None
    return record.model_copy(update={"lease": make_lease(backend.settings.lease_seconds, owner)})


def is_stale(record: VersionRecord) -> bool:
    """Whether an Uploading version's writer stopped renewing its lease."""
    return (
        record.state is State.UPLOADING
        and record.lease is not None
        and record.lease.expires_at < utcnow()
    )
