"""Staged changes: what an Uploading version changed, kept beside its manifest until upload.

Adding 100 files to a child of a 10,000-file parent used to rewrite every manifest shard
they fall into at ``add_files``, and again at ``upload`` to record where the bytes went.
Instead, small change sets are stored as one object (kind ``dataver.changes``) that the
version record names in ``staged``; the version's content is its ``manifest`` with those
changes applied. ``upload`` (or ``finalize``) applies them once, together with the new
locations, and clears ``staged``. Change sets above :data:`MAX_STAGED` entries are applied
right away, so a staged object stays about one shard's size.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

from dataver.layout import manifest_key
from dataver.manifest.codec import changes_payload, compress, decode_changes, digest, readable
from dataver.manifest.merge import apply_changes
from dataver.manifest.reader import Manifest, read_object
from dataver.storage.overlay import MemoryOverlay

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

Changes = dict[str, "Entry | None"]

MAX_STAGED = 4096
"""Largest change set kept staged (a shard's worth); larger ones are applied at once."""


def read_changes(store: Store, ref: str | None) -> Changes:
    """Return the staged changes at ``ref`` (``{}`` for None): path -> entry, or None if removed.

    Raises:
        FormatError: The object is corrupt or malformed.
        ObjectNotFoundError: The object is missing.
    """
    if ref is None:
        return {}
    entries, removed = decode_changes(read_object(store, ref), ref)
    changes: Changes = dict.fromkeys(removed)
    changes.update(zip(map(_path, entries), entries, strict=True))
    return changes


def write_changes(store: Store, changes: Mapping[str, Entry | None]) -> str | None:
    """Store a change set; return its address (content-addressed, like manifest shards).

    None, and nothing stored, when the set is too large for readers to accept (thousands
    of very long paths): it must be applied to the manifest instead.
    """
    keys = sorted(changes)
    entries = [e for e in map(changes.__getitem__, keys) if e is not None]
    removed = [k for k in keys if changes[k] is None]
    payload = changes_payload(entries, removed)
    if not readable(payload):
        return None
    data = compress(payload)
    ref = digest(data)
    key = manifest_key(ref)
    if not store.exists(key):
        store.write(key, data)
    return ref


def stage(
    store: Store,
    manifest: str | None,
    staged: str | None,
    algorithm: str,
    changes: Mapping[str, Entry | None],
) -> tuple[str | None, str | None]:
    """Record more changes of an Uploading version; return its new ``(manifest, staged)``.

    The changes join the staged ones (later ones win on a path). While they number at
    most :data:`MAX_STAGED`, only the change set is written; beyond, they are applied to the
    manifest (touched shards only) and nothing stays staged.
    """
    merged = read_changes(store, staged)
    merged.update(changes)
    if len(merged) <= MAX_STAGED:
        ref = write_changes(store, merged)
        if ref is not None:
            return manifest, ref
    return apply_changes(Manifest(store, manifest, algorithm), merged), None


def view(store: Store, manifest: str | None, staged: str | None, algorithm: str) -> Manifest:
    """The content of a version: ``manifest`` with the ``staged`` changes applied.

    Without staged changes, the stored manifest itself. With them, a manifest computed in
    memory (touched shards re-encoded, nothing written to the registry), so any reader can
    list, diff or browse an Uploading version.
    """
    base = Manifest(store, manifest, algorithm)
    if staged is None:
        return base
    overlay = MemoryOverlay(store)
    ref = apply_changes(Manifest(overlay, manifest, algorithm), read_changes(store, staged))
    return Manifest(overlay, ref, algorithm)


def pending_entries(manifest: Manifest, changes: Mapping[str, Entry | None]) -> list[Entry]:
    """Entries whose bytes are still only local: in the staged changes, and in the manifest
    at paths the changes do not replace or remove."""
    pending = [e for e in changes.values() if e is not None and e.is_pending]
    # NOTE: the root counts pending entries per shard: only those shards are read.
    for shard in manifest.shards:
        if shard.pending:
            entries = manifest.load_shard(shard)
            pending.extend(e for e in entries if e.is_pending and e.path not in changes)
    return pending


_path = operator.attrgetter("path")
