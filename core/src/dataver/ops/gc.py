"""Garbage collection of registry content: plan first, then execute.

Everything reachable from any version record (whatever its state) and from the upload
journals of Uploading versions is kept; so is anything younger than the grace period, which
covers an upload that has stored content but not yet recorded it. Packs are kept whole while
any live entry points into them. Version records ``fsck --repair`` moved to ``quarantine/``
keep what their well-formed manifest addresses reach, until a person deletes them
(decision 25).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from dataver.errors import FormatError, NotFoundError
from dataver.layout import journal_prefix, manifest_key, object_key, pack_key, writers_prefix
from dataver.manifest import recipe
from dataver.manifest.reader import Manifest
from dataver.manifest.staged import read_changes
from dataver.versions.records import VersionRecord, WriterRecord
from dataver.versions.state import State
from dataver.versions.wellformed import describe, is_digest, unsafe_fields

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

_CONTENT_PREFIXES = ("objects/", "packs/", "manifests/", "staging/", "writers/")


@dataclass(frozen=True)
class GcPlan:
    """What a garbage collection would delete. Nothing happens until :meth:`execute`.

    Attributes:
        keys: Storage keys to delete.
        freed_bytes: Bytes those keys hold.
        kept_objects: Objects kept because something references them.
        dry_run: Whether this plan came from a dry run.
    """

    keys: tuple[str, ...]
    freed_bytes: int
    kept_objects: int
    dry_run: bool
    store: Store = field(repr=False, compare=False)

    def execute(self) -> int:
        """Delete the planned keys; return how many were deleted."""
        for key in self.keys:
            self.store.delete(key)
        return len(self.keys)

    def as_dict(self) -> dict[str, object]:
        return {
            "keys": list(self.keys),
            "freed_bytes": self.freed_bytes,
            "kept_objects": self.kept_objects,
            "dry_run": self.dry_run,
        }


def plan_gc(backend: Backend, *, grace_seconds: float | None = None) -> GcPlan:
    """Return the plan of what is unreachable and old enough to delete."""
    store = backend.store
    grace = backend.settings.gc_grace_seconds if grace_seconds is None else grace_seconds
    live = _reachable(store)
    cutoff = time.time() - grace
    keys: list[str] = []
    freed = kept = 0
    for prefix in _CONTENT_PREFIXES:
        for info in store.list(prefix):
            if info.key in live or info.mtime > cutoff:
                kept += 1
                continue
            keys.append(info.key)
            freed += info.size
    return GcPlan(tuple(keys), freed, kept, True, store)


def _reachable(store: Store) -> set[str]:
    live: set[str] = set()
    for record in _all_records(store):
        _mark_record(store, record, live)
        if record.state is State.UPLOADING:
            _mark_journal(store, record.id, live)
            _mark_writers(store, record.id, live)
    for key, record in _quarantined(store):
        try:
            _mark_record(store, record, live)
        except NotFoundError:
            continue  # NOTE: a forged address may name nothing: there is nothing to keep
        except FormatError as exc:
            raise FormatError(
                f"gc refuses to run: the quarantined version record {key} names a manifest "
                f"that cannot be read ({exc}); delete its quarantine folder once nothing in "
                "it is needed",
                key=key,
            ) from exc
    return live


def _mark_record(store: Store, record: VersionRecord, live: set[str]) -> None:
    """Keep what a record's manifest addresses reach; only well-formed addresses are followed.

    NOTE: a live record's addresses are all well-formed (``_load_record`` refuses it
    otherwise); a quarantined one may hold a forged value next to genuine ones.
    """
    for ref in dict.fromkeys([record.manifest, record.base_manifest]):
        if ref is not None and is_digest(ref):
            _mark_manifest(store, ref, record.hash_algorithm, live)
    if record.staged is not None and is_digest(record.staged):
        _mark_changes(store, record.staged, live)


def _quarantined(store: Store) -> list[tuple[str, VersionRecord]]:
    """The version records in ``quarantine/<folder>/versions/<id>.json`` (see fsck --repair).

    NOTE: quarantine holds records that were not in the form dataver writes, often with one
    forged field next to genuine ones: a published version whose ``version`` was tampered
    with still names its real manifest. Keeping that content keeps quarantine reversible; a
    copy that does not parse names nothing gc could keep, so it is passed over.
    """
    out: list[tuple[str, VersionRecord]] = []
    for info in store.list("quarantine/"):
        parts = info.key.split("/")
        if len(parts) != 4 or parts[2] != "versions" or not parts[3].endswith(".json"):
            continue
        try:
            out.append((info.key, VersionRecord.from_bytes(store.read(info.key))))
        except (NotFoundError, FormatError):
            continue
    return out


def _all_records(store: Store) -> list[VersionRecord]:
    """Every version record; refuses to go on if one cannot be read.

    NOTE: a record gc cannot parse (damaged, or written by a newer dataver in another format)
    still owns its content: skipping it, as listings do, would delete that content for good.

    Raises:
        FormatError: A record does not parse; ``dataver fsck`` names it.
    """
    keys = [info.key for info in store.list("versions/")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda key: _load_record(store, key), keys))
    return [record for record in loaded if record is not None]


def _load_record(store: Store, key: str) -> VersionRecord | None:
    try:
        record = VersionRecord.from_bytes(store.read(key))
    except NotFoundError:
        return None  # NOTE: deleted since the listing: its content is garbage now
    except FormatError as exc:
        raise FormatError(
            f"gc refuses to run: version record {key} cannot be read ({exc}); "
            "repair or delete it first (dataver fsck lists it)",
            key=key,
        ) from exc
    unsafe = unsafe_fields(record)
    if unsafe:
        # NOTE: what it owns cannot be told from forged addresses: refuse, as for a record
        # that does not parse, rather than delete content it may hold.
        raise FormatError(
            f"gc refuses to run: version record {key} holds values dataver never writes "
            f"({describe(unsafe)}); 'dataver fsck --repair' moves it to quarantine/",
            key=key,
        )
    return record


def _mark_manifest(store: Store, ref: str, algorithm: str, live: set[str]) -> None:
    if manifest_key(ref) in live:
        return
    try:
        manifest = Manifest(store, ref, algorithm)
    except NotFoundError:
        return
    live.add(manifest_key(ref))
    for shard in manifest.shards:
        if manifest_key(shard.hash) in live:
            continue
        live.add(manifest_key(shard.hash))
        for entry in manifest.load_shard(shard):
            _mark_entry(store, entry, live)


def _mark_entry(store: Store, entry: Entry, live: set[str]) -> None:
    if entry.pack is not None:
        live.add(pack_key(entry.pack))
    elif entry.chunks is not None:
        _mark_chunks(store, entry.chunks, live)
    elif entry.hash is not None and entry.url is None and entry.source is None:
        live.add(object_key(entry.hash))


def _mark_chunks(store: Store, address: str, live: set[str]) -> None:
    """Keep a chunk list, its parts and every pack holding one of its chunks.

    NOTE: an unchanged large file keeps its list from version to version: it is read once.
    A list that cannot be read stops gc (FormatError), as a manifest shard does: what it
    keeps alive cannot be told.
    """
    if not is_digest(address) or manifest_key(address) in live:
        return
    try:
        keys, packs = recipe.referenced(store, address)
    except NotFoundError:
        return
    live.update(keys)
    live.update(map(pack_key, packs))


def _mark_changes(store: Store, ref: str, live: set[str]) -> None:
    """Keep an Uploading version's staged changes and anything they point to."""
    live.add(manifest_key(ref))
    try:
        changes = read_changes(store, ref)
    except NotFoundError:
        return
    for entry in changes.values():
        if entry is not None:
            _mark_entry(store, entry, live)


def _mark_writers(store: Store, version_id: str, live: set[str]) -> None:
    """Keep an Uploading version's writer records and the change sets they committed."""
    for info in store.list(writers_prefix(version_id)):
        live.add(info.key)
        try:
            record = WriterRecord.from_bytes(store.read(info.key))
        except (NotFoundError, FormatError):
            continue  # NOTE: a damaged record names nothing gc could keep; fsck reports it
        if record.committed is not None:
            for ref in record.committed.changes:
                if is_digest(ref):
                    _mark_changes(store, ref, live)


def _mark_journal(store: Store, version_id: str, live: set[str]) -> None:
    for info in store.list(journal_prefix(version_id)):
        live.add(info.key)
        try:
            raw = orjson.loads(store.read(info.key))
        except (NotFoundError, orjson.JSONDecodeError):
            continue
        if isinstance(raw, dict) and isinstance(raw.get("pack"), str):
            live.add(pack_key(raw["pack"]))
        if isinstance(raw, dict) and isinstance(raw.get("object"), str):
            live.add(object_key(raw["object"]))
        if isinstance(raw, dict) and isinstance(raw.get("chunked"), str):
            _mark_chunks(store, str(raw.get("chunks")), live)
