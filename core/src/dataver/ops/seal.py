"""Storing an Uploading version's pending content, and applying its staged changes.

Both return the *record update* that records what they did — a function of the record as it
is when the caller swaps it — so the caller makes one compare-and-swap (``upload``), or
folds it into the Final state's swap (``finalize``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataver.gcpause import paused_gc
from dataver.manifest import staged
from dataver.manifest.merge import apply_changes, relocate
from dataver.manifest.reader import Manifest
from dataver.objects.upload import journal_stored_bytes, upload_pending

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataver.backend import Backend
    from dataver.manifest.entry import Entry
    from dataver.versions.records import VersionRecord


def store_pending(
    backend: Backend, record: VersionRecord, max_workers: int | None
) -> tuple[Callable[[VersionRecord], dict[str, Any]] | None, int]:
    """Store the content only this machine has; return the record update and bytes stored.

    The staged changes and the new locations go into the manifest in one pass, written while
    the last content is still being stored (the record waits for both). None when nothing
    changed the manifest (everything was already stored and located).
    """
    settings = backend.settings
    if max_workers is not None:
        settings = settings.model_copy(update={"max_workers": max_workers})
    store = backend.store
    manifest = Manifest(store, record.manifest, record.hash_algorithm)
    base = Manifest(store, record.base_manifest, record.hash_algorithm)
    refs: list[str | None] = []

    def write_manifest(located: dict[str, Entry]) -> None:
        if changes:
            refs.append(apply_changes(manifest, {**changes, **located}))
        elif located:
            refs.append(relocate(manifest, located))

    with paused_gc():  # NOTE: bulk tuples and lists, no cycles (see dataver.gcpause)
        changes = staged.read_changes(store, record.staged)
        result = upload_pending(
            store,
            settings,
            version_id=record.id,
            pending=staged.pending_entries(manifest, changes),
            search=[manifest, base],
            stat_cache=backend.stat_cache,
            meanwhile=write_manifest,
        )
    if not refs:
        return None, result.stored_bytes
    new_ref = refs[0]
    stored = journal_stored_bytes(store, record.id)

    def update(current: VersionRecord) -> dict[str, Any]:
        stats = current.stats.model_copy(update={"stored_bytes": stored})
        return {"manifest": new_ref, "staged": None, "stats": stats}

    return update, result.stored_bytes


def unstage(backend: Backend, record: VersionRecord) -> Callable[[VersionRecord], dict[str, Any]]:
    """The record update that applies the staged changes to the manifest, storing nothing."""
    store = backend.store
    with paused_gc():
        manifest = Manifest(store, record.manifest, record.hash_algorithm)
        new_ref = apply_changes(manifest, staged.read_changes(store, record.staged))
    return lambda _: {"manifest": new_ref, "staged": None}
