"""One writer's share of an Uploading version: start an attempt, renew it, commit, release.

Many processes build one version at once by each keeping its own record
(``writers/<version-id>/<slot>.json``): nobody else writes it, so no writer ever loses a
compare-and-swap to another. A record holds the attempt at work (with a lease) and the
contribution the last successful attempt committed. A new attempt of the same writer (a
retry) replaces that contribution when it commits, never adds to it.

The hand-over to finalize (:mod:`dataver.ops.gather`) is ordered: a writer writes its
attempt *then* reads the version record; finalize marks the version ``closing`` *then*
lists the writers. Whatever the interleaving, either the writer sees ``closing`` and
withdraws, or finalize sees the attempt and waits for it (or refuses).
"""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata
import uuid
from typing import TYPE_CHECKING

from dataver.errors import ConflictError, FormatError, ObjectNotFoundError, ValidationError
from dataver.layout import writer_key, writers_prefix
from dataver.ops.transition import make_lease
from dataver.versions import repo
from dataver.versions.records import Contribution, WriterRecord, utcnow
from dataver.versions.state import State, require
from dataver.workers import each

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.storage.base import Store
    from dataver.versions.records import VersionRecord

MAX_NAME = 1024
"""Longest writer name (an Airflow dag/run/task/map-index key fits many times over)."""

_START_TRIES = 20


class Attempt:
    """A writer attempt at work: its record as this process last wrote it, and the token."""

    __slots__ = ("record", "slot", "token")

    def __init__(self, record: WriterRecord, token: str, slot: str) -> None:
        self.record = record
        self.token = token
        self.slot = slot

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def version_id(self) -> str:
        return self.record.version_id


def check_name(name: object) -> str:
    """A writer name as stored (NFC), or a ValidationError saying what is wrong with it."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"a writer name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError(
            f"invalid writer name {name[:80]!r}: at most {MAX_NAME} characters, no control "
            "characters",
            writer=name[:80],
        )
    return unicodedata.normalize("NFC", name)


def slot_of(name: str) -> str:
    """The key of a writer's record: any name, a fixed-size safe key."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def start(backend: Backend, version_id: str, name: str) -> Attempt:
    """Start an attempt of writer ``name``: its lease on, the last commit kept until this one
    commits. Another live attempt of the same name is taken over (a retried task).

    Raises:
        InvalidTransitionError: The version is not Uploading.
        ConflictError: Finalize is gathering the writers' work (the version is closing).
        ValidationError: The name is not valid.
    """
    name = check_name(name)
    store = backend.store
    slot = slot_of(name)
    _check_open(repo.load(store, version_id)[0])
    attempt = _write_attempt(backend, version_id, name, slot)
    # NOTE: read the version *after* the attempt is visible (see the module docstring).
    try:
        _check_open(repo.load(store, version_id)[0])
    except BaseException:
        release(store, attempt)
        raise
    return attempt


def _write_attempt(backend: Backend, version_id: str, name: str, slot: str) -> Attempt:
    store = backend.store
    key = writer_key(version_id, slot)
    lease = backend.settings.lease_seconds
    for _ in range(_START_TRIES):
        found = _read(store, key)
        record = WriterRecord(
            version_id=version_id,
            name=name,
            attempt=uuid.uuid4().hex,
            lease=make_lease(lease),
            committed=found[0].committed if found else None,
        )
        try:
            if found is None:
                token = store.create(key, record.to_bytes())
            else:
                _same_writer(found[0], name, key)
                token = store.replace(key, record.to_bytes(), found[1])
        except ConflictError:
            continue  # NOTE: another attempt of this writer started at the same moment
        return Attempt(record, token, slot)
    raise ConflictError(
        f"writer {name!r} of version {version_id} could not start: its record kept changing "
        f"({_START_TRIES} tries); are many attempts of it running?",
        version_id=version_id,
        writer=name,
    )


def renew(backend: Backend, attempt: Attempt) -> None:
    """Renew the attempt's lease.

    Raises:
        ConflictError: The attempt was taken over or set aside (see :func:`commit`).
    """
    owner = attempt.record.lease.owner if attempt.record.lease else None
    new = attempt.record.model_copy(
        update={"lease": make_lease(backend.settings.lease_seconds, owner)}
    )
    _swap(backend.store, attempt, new)


def commit(store: Store, attempt: Attempt, contribution: Contribution) -> None:
    """Record the attempt's contribution (replacing the last one) and end the attempt.

    Raises:
        ConflictError: The attempt is no longer the writer's: another attempt of the same
            name took over, or finalize set it aside once its lease had expired. Nothing
            this attempt did is part of the version.
    """
    new = attempt.record.model_copy(
        update={"attempt": None, "lease": None, "committed": contribution}
    )
    _swap(store, attempt, new)


def release(store: Store, attempt: Attempt) -> None:
    """End the attempt without committing: the last commit stays. Best effort (a lease
    that is not released expires)."""
    new = attempt.record.model_copy(update={"attempt": None, "lease": None})
    # NOTE: taken over, set aside or cleared: nothing of ours left to release
    with contextlib.suppress(ConflictError, ObjectNotFoundError):
        _swap(store, attempt, new)


def list_writers(store: Store, version_id: str) -> list[tuple[WriterRecord, str, str]]:
    """Each writer record of a version with its token and key (read in parallel).

    Raises:
        FormatError: A record does not parse or does not belong where it is stored.
    """
    keys = [info.key for info in store.list(writers_prefix(version_id))]
    out = []
    for key, found in zip(keys, each(lambda k: _read(store, k), keys), strict=True):
        if found is None:
            continue  # NOTE: cleared since the listing
        record, token = found
        if record.version_id != version_id or key != writer_key(version_id, slot_of(record.name)):
            raise FormatError(
                f"writer record {key} does not belong there (it names version "
                f"{record.version_id!r}, writer {record.name[:80]!r})",
                key=key,
            )
        out.append((record, token, key))
    return out


def writers_at_work(store: Store, version_id: str) -> bool:
    """Whether some writer of the version holds an unexpired lease (the version is then not
    stale, although nobody renews the version's own lease)."""
    try:
        return any(is_live(r) for r, _, _ in list_writers(store, version_id))
    except FormatError:
        return False


def is_live(record: WriterRecord) -> bool:
    """Whether an attempt is at work and its lease has not expired."""
    return record.attempt is not None and (
        record.lease is None or record.lease.expires_at > utcnow()
    )


def _check_open(version: VersionRecord) -> None:
    require(version.state, frozenset({State.UPLOADING}), "add files to", version_id=version.id)
    if version.closing is not None and version.closing.expires_at > utcnow():
        raise ConflictError(
            f"version {version.id} is being finalized: a writer cannot start now",
            version_id=version.id,
        )


def _swap(store: Store, attempt: Attempt, new: WriterRecord) -> None:
    key = writer_key(attempt.version_id, attempt.slot)
    try:
        attempt.token = store.replace(key, new.to_bytes(), attempt.token)
    except (ConflictError, ObjectNotFoundError) as exc:
        raise ConflictError(
            f"writer {attempt.name!r} of version {attempt.version_id} lost its attempt: "
            "another attempt of the same writer took over, or finalize set it aside after "
            "its lease expired; what this attempt did is not part of the version",
            version_id=attempt.version_id,
            writer=attempt.name,
        ) from exc
    attempt.record = new


def _read(store: Store, key: str) -> tuple[WriterRecord, str] | None:
    try:
        data, token = store.read_with_token(key)
    except ObjectNotFoundError:
        return None
    return WriterRecord.from_bytes(data), token


def _same_writer(found: WriterRecord, name: str, key: str) -> None:
    if found.name != name:
        raise FormatError(
            f"writer record {key} names writer {found.name[:80]!r}, not {name[:80]!r}",
            key=key,
        )
