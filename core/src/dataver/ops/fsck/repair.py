"""What ``fsck --repair`` does: only fixes that cannot lose data."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from dataver.errors import ConflictError, NotFoundError
from dataver.objects.upload import clear_journal
from dataver.ops.contribute import writers_at_work
from dataver.ops.fsck.report import HOSTILE, QUARANTINE, FsckProblem
from dataver.ops.transition import end_record, is_stale
from dataver.versions import repo
from dataver.versions.records import utcnow
from dataver.versions.state import State

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.ops.fsck.checker import Checker, Suspect
    from dataver.storage.base import Store

_REPAIR_NOTE = "aborted by fsck --repair: its writer stopped renewing its lease"


def repair_problem(backend: Backend, problem: FsckProblem, checker: Checker) -> FsckProblem | None:
    """Apply the safe fix for one problem; return it as fixed, or None if nothing was done."""
    store = backend.store
    if problem.kind == HOSTILE:
        suspect = checker.suspects.get(problem.key)
        folder = None if suspect is None else _quarantine(store, problem, suspect)
        if folder is None:
            return None
        note = f"{problem.message}; moved to {folder}"
        return FsckProblem(problem.kind, problem.severity, problem.key, note, problem.version_id)
    if problem.kind == "stale-version" and problem.version_id is not None:
        return problem if _abort_stale(backend, problem.version_id) else None
    if problem.kind == "tombstone" and problem.version_id is not None:
        return problem if _purge_tombstone(backend, problem.version_id) else None
    if problem.kind == "leftover-journal" and problem.version_id is not None:
        clear_journal(store, problem.version_id)
        return problem
    if problem.kind == "temp-file":
        store.remove_leftover(problem.key)
        return problem
    if problem.kind in ("orphan-claim", "orphan-dataset", "stale-name"):
        store.delete(problem.key)
        return problem
    return None


def _quarantine(store: Store, problem: FsckProblem, suspect: Suspect) -> str | None:
    """Move a hostile object (and the claims naming it) to a new ``quarantine/`` folder.

    Copies first, then removes each original only if it still holds the bytes the check
    judged (compare-and-swap): a record fixed or replaced since is left for the next check.
    Nothing is deleted for good; the folder's ``why.json`` says what was moved, why and when.

    Returns:
        The folder the object now lives in, or None if it changed or vanished meanwhile.
    """
    moving = _unchanged(store, [(problem.key, suspect.token)])
    if not moving:
        return None
    # NOTE: a claim that changed since the check is no longer this record's: left alone.
    moving += _unchanged(store, suspect.claims)
    now = utcnow()
    # NOTE: a folder per quarantine, never an overwrite: a key quarantined twice (restored,
    # then forged again) keeps both copies as evidence.
    folder = f"{QUARANTINE}{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}/"
    note = {
        "format": 1,
        "kind": "dataver.quarantine",
        "quarantined_at": now.isoformat(),
        "by": "dataver fsck --repair",
        "problem": problem.kind,
        "reason": problem.message,
        "version_id": problem.version_id,
        "keys": [key for key, _, _ in moving],
    }
    for key, data, _ in moving:
        store.write(folder + key, data)
    store.write(folder + "why.json", json.dumps(note, indent=1).encode())
    try:
        store.delete_if(problem.key, suspect.token)
    except ConflictError:
        # NOTE: rewritten between our read and the delete: the copy is not what is there
        # any more, so drop it (the folder is ours alone) and let the next check judge.
        for key in [*(k for k, _, _ in moving), "why.json"]:
            store.delete(folder + key)
        return None
    for key, _, token in moving[1:]:
        try:
            store.delete_if(key, token)
        except ConflictError:
            continue  # NOTE: the copy stays as evidence; the next check judges the claim
    return folder


def _unchanged(store: Store, keys: list[tuple[str, str]]) -> list[tuple[str, bytes, str]]:
    """(key, bytes, token) of each key that still holds what its token was read with."""
    out: list[tuple[str, bytes, str]] = []
    for key, token in keys:
        try:
            data, now = store.read_with_token(key)
        except NotFoundError:
            continue
        if now == token:
            out.append((key, data, token))
    return out


def _purge_tombstone(backend: Backend, version_id: str) -> bool:
    try:
        record, token = repo.load(backend.store, version_id, deleted=True)
    except NotFoundError:
        return False
    if record.deleted_at is None:
        return False
    try:
        repo.purge(backend.store, record, token)
    except ConflictError:
        return False
    clear_journal(backend.store, version_id)
    return True


def _abort_stale(backend: Backend, version_id: str) -> bool:
    try:
        record, token = repo.load(backend.store, version_id)
    except NotFoundError:
        return False
    if not is_stale(record) or writers_at_work(backend.store, version_id):
        return False  # NOTE: its writer came back since the check, or writers are at work
    expired = record.lease.expires_at.isoformat() if record.lease else "?"
    ended = end_record(record, State.ABORTED, f"{_REPAIR_NOTE} (expired {expired})")
    try:
        repo.save(backend.store, ended, token)
    except ConflictError:
        return False  # NOTE: the writer renewed or ended it meanwhile: it is not stale
    clear_journal(backend.store, version_id)
    return True
