"""Persistence of records: every change is a compare-and-swap on the registry store."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from dataver.errors import (
    ConflictError,
    DatasetNotFoundError,
    FormatError,
    ObjectNotFoundError,
    VersionNotFoundError,
)
from dataver.layout import claim_key, claims_prefix, dataset_key, name_key, record_key
from dataver.versions.records import (
    DatasetRecord,
    Pointer,
    VersionRecord,
    name_spellings,
    utcnow,
)
from dataver.versions.wellformed import is_id

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.storage.base import Store


def new_id() -> str:
    """A new random 32-hex-character id."""
    return uuid.uuid4().hex


def check_id(version_id: str) -> str:
    """Refuse ids that are not 32 lowercase hex characters (they would name odd keys)."""
    if not is_id(version_id):
        raise VersionNotFoundError(f"no version with id {version_id!r}", version_id=version_id)
    return version_id


def load(store: Store, version_id: str, *, deleted: bool = False) -> tuple[VersionRecord, str]:
    """Return a version record and its CAS token.

    Args:
        store: The registry store.
        version_id: The version's id.
        deleted: Return a tombstone (``deleted_at`` set) too, instead of raising.

    Raises:
        VersionNotFoundError: No such version (or only its tombstone).
    """
    try:
        data, token = store.read_with_token(record_key(check_id(version_id)))
    except ObjectNotFoundError:
        raise VersionNotFoundError(
            f"no version with id {version_id}", version_id=version_id
        ) from None
    record = VersionRecord.from_bytes(data)
    if record.deleted_at is not None and not deleted:
        raise VersionNotFoundError(
            f"no version with id {version_id} (it was deleted)", version_id=version_id
        )
    if record.id != version_id:
        # NOTE: every later write or delete is keyed by record.id: a record claiming another
        # id would make them hit another version (or, with a hostile id, another file).
        raise FormatError(
            f"version record {version_id} claims to be version {record.id!r}",
            version_id=version_id,
        )
    return record, token


def save(store: Store, record: VersionRecord, token: str) -> tuple[VersionRecord, str]:
    """Replace a record if nobody changed it since ``token``; stamp ``updated_at``.

    Raises:
        ConflictError: A concurrent writer changed the record first.
    """
    record = record.model_copy(update={"updated_at": utcnow()})
    try:
        new_token = store.replace(record_key(record.id), record.to_bytes(), token)
    except ConflictError as exc:
        raise ConflictError(
            f"version {record.id} was changed by another writer; reload it and retry",
            version_id=record.id,
        ) from exc
    return record, new_token


def create(store: Store, record: VersionRecord) -> str:
    """Write a new record; return its token."""
    return store.create(record_key(record.id), record.to_bytes())


def purge(store: Store, tombstone: VersionRecord, token: str) -> None:
    """Remove a tombstone (``deleted_at`` set) and release its version string.

    The claim goes first, and only if it still names this version; the record last, only if
    it is still this tombstone. A crash in between leaves the tombstone, which ``fsck
    --repair`` purges: never a live record without its claim, never a claim taken twice.

    Raises:
        ValueError: ``tombstone`` is not a tombstone.
    """
    if tombstone.deleted_at is None:
        raise ValueError(f"version {tombstone.id} is not a tombstone (no deleted_at)")
    key = claim_key(tombstone.dataset_id, tombstone.version)
    try:
        data, claim_token = store.read_with_token(key)
        if Pointer.from_bytes(data).target == tombstone.id:
            store.delete_if(key, claim_token)
    except (ObjectNotFoundError, FormatError, ConflictError):
        pass  # NOTE: gone, damaged (fsck reports it) or no longer ours: not ours to remove
    store.delete_if(record_key(tombstone.id), token)


def iter_all(store: Store) -> Iterator[VersionRecord]:
    """Yield every version record in the registry (read in parallel)."""
    keys = [info.key for info in store.list("versions/") if info.key.endswith(".json")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for record in pool.map(lambda k: _try_load(store, k), keys):
            if record is not None:
                yield record


def iter_ids(store: Store, ids: list[str]) -> Iterator[VersionRecord]:
    """Yield the records of ``ids`` that exist (read in parallel)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        for record in pool.map(lambda i: _try_load(store, record_key(i)), ids):
            if record is not None:
                yield record


def _try_load(store: Store, key: str) -> VersionRecord | None:
    try:
        record = VersionRecord.from_bytes(store.read(key))
    except (ObjectNotFoundError, FormatError):
        # NOTE: deleted between list and read, or corrupt: fsck reports the latter.
        return None
    return None if record.deleted_at is not None else record


def load_dataset(store: Store, dataset_id: str) -> DatasetRecord:
    """Return a dataset record by id."""
    try:
        return DatasetRecord.from_bytes(store.read(dataset_key(dataset_id)))
    except ObjectNotFoundError:
        raise DatasetNotFoundError(f"no dataset with id {dataset_id}") from None


def find_dataset(store: Store, project: str, name: str) -> DatasetRecord | None:
    """Return the dataset called ``name`` in ``project``, or None.

    Names match in Unicode NFC: each spelling of :func:`name_spellings` is tried in turn
    (as given, NFC, then NFD and mixed forms), so a dataset is found however its accents
    were typed, and also when a registry written before names were normalized stored it
    in NFD.
    """
    for project_, name_ in name_spellings(project, name):
        found = _find_spelled(store, project_, name_)
        if found is not None:
            return found
    return None


def _find_spelled(store: Store, project: str, name: str) -> DatasetRecord | None:
    try:
        pointer = Pointer.from_bytes(store.read(name_key(project, name)))
    except ObjectNotFoundError:
        return None
    record = load_dataset(store, pointer.target)
    # NOTE: a rename that crashed half-way can leave a stale pointer; the record decides.
    return record if (record.project, record.name) == (project, name) else None


def ensure_dataset(store: Store, project: str, name: str) -> DatasetRecord:
    """Return the dataset (project, name), creating it if needed (race-safe)."""
    existing = find_dataset(store, project, name)
    if existing is not None:
        return existing
    record = DatasetRecord(id=new_id(), project=project, name=name, created_at=utcnow())
    store.create(dataset_key(record.id), record.to_bytes())
    try:
        store.create(name_key(project, name), Pointer(target=record.id).to_bytes())
    except ConflictError:
        store.delete(dataset_key(record.id))
        winner = find_dataset(store, project, name)
        if winner is None:
            raise
        return winner
    return record


def list_datasets(store: Store) -> list[DatasetRecord]:
    """Return every dataset, sorted by project and name."""
    out = []
    for info in store.list("datasets/"):
        if info.key.endswith("/dataset.json"):
            try:
                out.append(DatasetRecord.from_bytes(store.read(info.key)))
            except (ObjectNotFoundError, FormatError):
                continue
    return sorted(out, key=lambda d: (d.project, d.name))


def claims(store: Store, dataset_id: str) -> dict[str, str]:
    """Return version string -> version id for one dataset."""
    out = {}
    prefix = claims_prefix(dataset_id)
    for info in store.list(prefix):
        version = info.key[len(prefix) : -len(".json")]
        try:
            out[version] = Pointer.from_bytes(store.read(info.key)).target
        except (ObjectNotFoundError, FormatError):
            continue
    return out


def claimed(store: Store, dataset_id: str) -> list[str]:
    """Return the version strings taken in one dataset, from one listing.

    NOTE: the string is the claim's name, so nothing is read: taking the next version costs
    one LIST however many versions exist (reading every claim made concurrent auto-versioned
    creates quadratic in the number of versions).
    """
    prefix = claims_prefix(dataset_id)
    return [
        info.key[len(prefix) : -len(".json")]
        for info in store.list(prefix)
        if info.key.endswith(".json")
    ]


def claim(store: Store, dataset_id: str, version: str, version_id: str) -> None:
    """Take ``version`` for ``version_id``; raises ConflictError if it is taken."""
    store.create(claim_key(dataset_id, version), Pointer(target=version_id).to_bytes())


def rename_dataset(store: Store, record: DatasetRecord, project: str, name: str) -> DatasetRecord:
    """Point (project, name) at the dataset, update it, then drop the old pointer.

    Raises:
        ConflictError: (project, name) is already taken.
    """
    data, token = store.read_with_token(dataset_key(record.id))
    current = DatasetRecord.from_bytes(data)
    try:
        store.create(name_key(project, name), Pointer(target=record.id).to_bytes())
    except ConflictError:
        raise ConflictError(
            f"a dataset named {name!r} already exists in project {project!r}",
            project=project,
            name=name,
        ) from None
    updated = current.model_copy(update={"project": project, "name": name})
    store.replace(dataset_key(record.id), updated.to_bytes(), token)
    store.delete(name_key(current.project, current.name))
    return updated
