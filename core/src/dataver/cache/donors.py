"""Chunks already on this machine: a new version of a large file is rebuilt from the cached
copy of an earlier version of it, and only the chunks that copy lacks are downloaded.

The cache remembers, per dataset path, the last few chunked files it stored there (their
hash and chunk list). When a chunked file is fetched, the cached copies of those files
*donate* every chunk they share with it: read from the local blob, checked against the
chunk's hash, written into place. A table that gained rows since yesterday's version is
downloaded as its new rows (issue 22; the write side shares chunks by path in the same way).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from typing import TYPE_CHECKING

import orjson

from dataver.errors import DataverError
from dataver.manifest import recipe
from dataver.objects.fetch import LocalChunk
from dataver.versions.wellformed import is_digest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

log = logging.getLogger("dataver.cache")

KEEP = 4
"""Chunked files remembered per dataset path (the latest first)."""


class Donors:
    """The chunked files of the cache, by dataset path (see the module's docstring).

    Args:
        root: The cache folder's ``chunked`` index folder.
        blob_of: The cached blob of a content hash (it may not exist).
    """

    def __init__(self, root: Path, blob_of: Callable[[str], str]) -> None:
        self.root = root
        self._blob_of = blob_of

    def remember(self, entry: Entry) -> None:
        """Note that the cache now holds the chunked file ``entry``."""
        if entry.chunks is None or entry.hash is None:
            return
        known = [e for e in self._read(entry.path) if e[0] != entry.hash]
        rows = [(entry.hash, entry.chunks), *known][:KEEP]
        target = self._index(entry.path)
        with contextlib.suppress(OSError):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.{os.getpid()}.tmp"
            with open(tmp, "wb") as out:
                out.write(orjson.dumps([list(row) for row in rows]))
            os.replace(tmp, target)

    def chunks_for(self, store: Store, entry: Entry) -> dict[str, LocalChunk]:
        """The chunks of ``entry`` that cached earlier versions of its path hold."""
        found: dict[str, LocalChunk] = {}
        for file_hash, address in self._read(entry.path):
            blob = self._blob_of(file_hash)
            if file_hash == entry.hash or not os.path.exists(blob):
                continue
            try:
                listed = recipe.read_address(store, address)
            except DataverError as exc:  # NOTE: only a shortcut is lost
                log.debug("not reusing %s: %s", blob, exc)
                continue
            if listed.file_hash != file_hash:
                continue
            for offset, chunk in recipe.chunks(store, listed):
                found.setdefault(chunk.hash, LocalChunk(blob, offset, chunk.size))
        return found

    def _read(self, path: str) -> list[tuple[str, str]]:
        try:
            with open(self._index(path), "rb") as handle:
                raw = orjson.loads(handle.read())
        except (OSError, orjson.JSONDecodeError):
            return []
        if not isinstance(raw, list):
            return []
        return [
            (row[0], row[1])
            for row in raw
            if isinstance(row, list) and len(row) == 2 and all(map(is_digest, row))
        ]

    def _index(self, path: str) -> str:
        digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self.root, digest[:2], f"{digest}.json")
