"""Create a new version (state Uploading) of a dataset, with ordered parents."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from dataver.errors import ConflictError, ValidationError, VersionNotFoundError
from dataver.manifest.merge import merge_manifests
from dataver.manifest.reader import Manifest
from dataver.ops.transition import is_being_deleted, make_lease, tombstone_record
from dataver.versions import repo
from dataver.versions import semver as semver_
from dataver.versions.records import (
    Stats,
    VersionRecord,
    check_metadata,
    check_name,
    check_tags,
    utcnow,
)
from dataver.versions.state import READABLE, State, require

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.storage.base import Store

_MAX_VERSION_RACES = 1000


def create_version(
    backend: Backend,
    *,
    name: str,
    project: str,
    parents: list[str],
    version: str | None,
    tags: Any,
    description: str | None,
    metadata: Any,
    provenance: dict[str, Any] | None = None,
) -> tuple[VersionRecord, str]:
    """Create a version in state Uploading; return its record and CAS token.

    Raises:
        ValidationError: A name, tag, metadata key or version string is invalid.
        VersionNotFoundError: A parent does not exist.
        InvalidTransitionError: A parent is not Final or Published.
        ConflictError: The explicit version string is taken.
    """
    store = backend.store
    name = check_name(name)  # NOTE: in NFC, the form a new dataset is stored under
    project = check_name(project, "project")
    tags_ = check_tags(tags)
    metadata_ = check_metadata(metadata)
    if description is not None and not isinstance(description, str):
        raise ValidationError("description must be a string")
    parent_records = [_readable_parent(store, pid) for pid in _unique(parents)]
    algorithm = _algorithm(parent_records, backend.settings.hash_algorithm)
    base = merge_manifests(
        store, [Manifest(store, p.manifest, algorithm) for p in parent_records], algorithm
    )
    ensure_marker(store)
    dataset = repo.ensure_dataset(store, project, name)
    version_id = repo.new_id()
    taken = _claim(store, dataset.id, version_id, version, project, name)
    now = utcnow()
    record = VersionRecord(
        id=version_id,
        dataset_id=dataset.id,
        version=taken,
        parents=tuple(p.id for p in parent_records),
        state=State.UPLOADING,
        created_at=now,
        updated_at=now,
        description=description,
        tags=tags_,
        metadata=metadata_,
        provenance=provenance or {},
        lease=make_lease(backend.settings.lease_seconds),
        hash_algorithm=algorithm,
        manifest=base,
        base_manifest=base,
        stats=_held(store, base, algorithm),
    )
    token = repo.create(store, record)
    confirm_parents(store, record, token)
    return record, token


def _held(store: Store, manifest: str | None, algorithm: str) -> Stats:
    """What a new version holds from its parents (its files while it is Uploading)."""
    if manifest is None:
        return Stats()
    root = Manifest(store, manifest, algorithm).root
    return Stats(files=root.files, logical_bytes=root.bytes, links=root.links)


def confirm_parents(
    store: Store, record: VersionRecord, token: str, sources: tuple[str, ...] | None = None
) -> None:
    """Re-read the parents of a just-written record; withdraw it if one is going away.

    NOTE: the other half of delete's protocol (dataver.ops.delete): a delete marks the
    parent, then looks for children. This record is written before the parents are read
    again, so either that look finds it, or this read finds the mark. Once it is written,
    ``gc`` also keeps the content it shares with them.

    Args:
        store: The registry store.
        record: The record just written (Uploading).
        token: Its token.
        sources: The versions to check, if not its parents (a squash's sources).

    Raises:
        ConflictError: A parent is being deleted, or is gone; the new record is removed.
    """
    for parent_id in record.parents if sources is None else sources:
        try:
            parent, _ = repo.load(store, parent_id)
        except VersionNotFoundError:
            parent = None
        if parent is not None and parent.state in READABLE and not is_being_deleted(parent):
            continue
        with contextlib.suppress(ConflictError):
            repo.purge(store, *repo.save(store, tombstone_record(record), token))
        raise ConflictError(
            f"parent {parent_id} is being deleted (or is gone): the new version was not "
            "created; choose another parent",
            version_id=parent_id,
            reason="parent-gone",
        )


def _unique(parents: list[str]) -> list[str]:
    if len(set(parents)) != len(parents):
        raise ValidationError(f"a parent is listed twice: {parents}")
    return parents


def _readable_parent(store: Store, parent_id: str) -> VersionRecord:
    record, _ = repo.load(store, parent_id)
    require(record.state, READABLE, "use as a parent", version_id=record.id)
    return record


def _algorithm(parents: list[VersionRecord], default: str) -> str:
    algorithms = {p.hash_algorithm for p in parents}
    if len(algorithms) > 1:
        raise ValidationError(f"parents use different hash algorithms: {sorted(algorithms)}")
    return algorithms.pop() if algorithms else default


def _claim(
    store: Store, dataset_id: str, version_id: str, version: str | None, project: str, name: str
) -> str:
    if version is not None:
        wanted = semver_.normalize(version)
        try:
            repo.claim(store, dataset_id, wanted, version_id)
        except ConflictError:
            # NOTE: reason "exists": taken for good, running the same command again cannot help
            raise ConflictError(
                f"version {wanted} of {project}/{name} already exists",
                version=wanted,
                project=project,
                name=name,
                reason="exists",
            ) from None
        return wanted
    for _ in range(_MAX_VERSION_RACES):
        candidate = semver_.next_patch(repo.claimed(store, dataset_id))
        try:
            repo.claim(store, dataset_id, candidate, version_id)
        except ConflictError:
            continue  # another writer took it first: take the next one
        return candidate
    raise ConflictError(
        f"could not take a version of {project}/{name}: too many concurrent writers"
    )


def ensure_marker(store: Store) -> None:
    """Write the registry marker (``dataver.json``) if this is the first write."""
    from dataver.layout import FORMAT, MARKER

    if not store.exists(MARKER):
        with contextlib.suppress(ConflictError):
            store.create(MARKER, f'{{"format": {FORMAT}, "kind": "dataver.registry"}}\n'.encode())
