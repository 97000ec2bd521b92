"""Store a version's pending files as plain objects at a location of the user's, and make
their entries links to them (ClearML's ``upload_as_external_links``).

The files keep their dataset paths below the location, one object each, readable by any tool;
the version records their size and hash, so a read still checks every byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dataver.errors import IntegrityError, ValidationError
from dataver.gcpause import paused_gc
from dataver.hashing import hash_file
from dataver.manifest import staged
from dataver.manifest.entry import Entry
from dataver.manifest.reader import Manifest
from dataver.storage import open_store
from dataver.workers import stopping_pool

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.storage.base import Store
    from dataver.versions.records import VersionRecord


def externalize(
    backend: Backend, record: VersionRecord, url: str, max_workers: int | None
) -> dict[str, Entry | None]:
    """Copy every pending file of ``record`` to ``url/<dataset path>``; return the link
    entries that replace them (the caller applies them).

    Raises:
        ValidationError: ``url`` is inside the registry (its layout is dataver's own).
        IntegrityError: A file changed since it was added (its hash differs).
    """
    store = backend.store
    check_outside(url, store.url)
    with paused_gc():  # NOTE: bulk tuples and lists, no cycles (see dataver.gcpause)
        manifest = Manifest(store, record.manifest, record.hash_algorithm)
        pending = staged.pending_entries(manifest, staged.read_changes(store, record.staged))
    if not pending:
        return {}
    target = open_store(url, settings=backend.settings)
    base = _link_base(url, target)
    workers = max_workers or backend.settings.max_workers

    def put(entry: Entry) -> Entry:
        return _put(target, base, entry, record.hash_algorithm)

    try:
        with stopping_pool(min(workers, len(pending)), "dataver-links") as pool:
            return {e.path: e for e in pool.map(put, pending)}
    finally:
        target.close()


def check_outside(url: str, registry_url: str) -> None:
    """Refuse a location inside the registry (or the registry itself)."""
    inner, outer = _norm(url), _norm(registry_url)
    if inner == outer or inner.startswith(outer + "/"):
        raise ValidationError(
            f"cannot store external links inside the registry ({registry_url}): "
            "give a location of your own",
            url=url,
        )


def same_location(url: str, other: str) -> bool:
    """Whether two URLs or paths name the same place (local paths resolved)."""
    return _norm(url) == _norm(other)


def _norm(url: str) -> str:
    if "://" not in url or url.startswith("file://"):
        return str(Path(url.removeprefix("file://")).expanduser().resolve()).rstrip("/")
    return url.rstrip("/")


def _link_base(url: str, target: Store) -> str:
    if "://" not in url or url.startswith("file://"):
        # NOTE: the same spelling add_external_files gives a local file (fsspec's file://)
        return "file://" + _norm(url)
    return target.url.rstrip("/")


def _put(target: Store, base: str, entry: Entry, algorithm: str) -> Entry:
    source = Path(entry.source or "")
    if hash_file(source, algorithm) != entry.hash:
        raise IntegrityError(
            f"{source} changed since it was added as {entry.path!r}; add it again",
            path=entry.path,
        )
    target.put_file(source, entry.path)
    return Entry(entry.path, entry.size, entry.hash, url=f"{base}/{entry.path}")
