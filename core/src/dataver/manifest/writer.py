"""Writing manifests: content-defined shards, so unchanged regions are shared between versions.

A shard ends after an entry whose path's CRC-32 has its low 12 bits clear (about 4,096
entries a shard), or at 16,384 entries. The cut depends only on the entries themselves, so
a child that changes 1% of a large dataset produces the same shards as its parent almost
everywhere, and writes only the few that differ.
"""

from __future__ import annotations

import operator
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from dataver.errors import UnsafePathError
from dataver.layout import manifest_key
from dataver.manifest.codec import ManifestRoot, ShardRef, digest, encode_root, encode_shard
from dataver.manifest.reader import remember_shard
from dataver.paths import validate_paths

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

BOUNDARY_MASK = 0xFFF
MAX_SHARD = 16384


def is_boundary(path: str) -> bool:
    """Whether a shard ends after the entry at ``path``."""
    return zlib.crc32(path.encode()) & BOUNDARY_MASK == 0


class ManifestWriter:
    """Accumulate entries in path order and write shards as they fill.

    Args:
        store: Where shards and the root go.
        algorithm: The content hash algorithm the entries use.
    """

    def __init__(self, store: Store, algorithm: str) -> None:
        self.store = store
        self.algorithm = algorithm
        self._buffer: list[Entry] = []
        self._shards: list[ShardRef] = []
        self._files = self._bytes = self._pending = self._links = 0
        self._last: str | None = None
        self._puts = _Puts(store)

    @property
    def aligned(self) -> bool:
        """True when no entry is buffered: an existing shard may be appended as is."""
        return not self._buffer

    def add(self, entry: Entry) -> None:
        """Append one entry; paths must arrive strictly increasing."""
        if self._last is not None and entry.path <= self._last:
            raise ValueError(f"manifest entries out of order at {entry.path!r}")
        self._last = entry.path
        self._buffer.append(entry)
        if len(self._buffer) >= MAX_SHARD or is_boundary(entry.path):
            self._flush()

    def extend(self, entries: list[Entry]) -> None:
        """Append entries already in strictly increasing path order (faster than :meth:`add`)."""
        if not entries:
            return
        if self._last is not None and entries[0].path <= self._last:
            raise ValueError(f"manifest entries out of order at {entries[0].path!r}")
        self._last = entries[-1].path
        sums = map(zlib.crc32, map(str.encode, map(_path, entries)))
        cuts = [i for i, crc in enumerate(sums) if not crc & BOUNDARY_MASK]
        start = 0
        for cut in [*cuts, None]:
            end = len(entries) if cut is None else cut + 1
            while end - start + len(self._buffer) >= MAX_SHARD:
                take = MAX_SHARD - len(self._buffer)
                self._buffer.extend(entries[start : start + take])
                start += take
                self._flush()
            self._buffer.extend(entries[start:end])
            start = end
            if cut is not None:
                self._flush()

    def add_block(self, entries: list[Entry]) -> None:
        """Append, as one shard, entries with the paths of one shard of an existing manifest.

        Only when :attr:`aligned`. The old shard's cut holds for the same paths, so no
        boundary is computed, and paths validated when that shard was read are not validated
        again.
        """
        if not self.aligned:
            raise ValueError("add_block needs an empty buffer")
        if not entries:
            return
        if self._last is not None and entries[0].path <= self._last:
            raise ValueError(f"manifest entries out of order at {entries[0].path!r}")
        self._last = entries[-1].path
        self._buffer = entries
        self._flush(validated=True)

    def add_shard(self, shard: ShardRef) -> None:
        """Append an already stored shard unchanged (only when :attr:`aligned`)."""
        if not self.aligned:
            raise ValueError("add_shard needs an empty buffer")
        if self._last is not None and shard.first <= self._last:
            raise ValueError(f"manifest shard out of order at {shard.first!r}")
        self._shards.append(shard)
        self._last = shard.last
        self._files += shard.count
        self._bytes += shard.bytes
        self._pending += shard.pending
        self._links += shard.links

    def _flush(self, *, validated: bool = False) -> None:
        if not self._buffer:
            return
        data = encode_shard(self._buffer)
        ref = digest(data)
        self._puts.put(manifest_key(ref), data)
        shard = ShardRef(
            hash=ref,
            first=self._buffer[0].path,
            last=self._buffer[-1].path,
            count=len(self._buffer),
            # NOTE: counted in C (map, count): a shard has thousands of entries.
            bytes=sum(map(_size, self._buffer)),
            pending=len(self._buffer) - list(map(_source, self._buffer)).count(None),
            links=len(self._buffer) - list(map(_url, self._buffer)).count(None),
        )
        self._shards.append(shard)
        if validated or _safe(self._buffer):
            remember_shard(ref, self._buffer)
        self._files += shard.count
        self._bytes += shard.bytes
        self._pending += shard.pending
        self._links += shard.links
        self._buffer = []

    def finish(self) -> str:
        """Write the last shard and the root; return the root's address.

        The root is written only once every shard is stored: a root never names a shard
        that is not there.
        """
        self._flush()
        self._puts.wait()
        root = ManifestRoot(
            hash_algorithm=self.algorithm,
            files=self._files,
            bytes=self._bytes,
            pending=self._pending,
            links=self._links,
            shards=tuple(self._shards),
        )
        data = encode_root(root)
        ref = digest(data)
        key = manifest_key(ref)
        if not self.store.exists(key):
            self.store.write(key, data)
        return ref


class _Puts:
    """Shard writes on a few threads, overlapping the encoding of the next shards.

    NOTE: a write waits on the disk (fsync) or the network, and releases the GIL meanwhile:
    4 shards of a 1%-changed child are stored in about the time of 1 on a local disk, and
    S3 PUTs go in parallel. At most ``limit`` encoded shards wait in memory.
    """

    def __init__(self, store: Store, workers: int = 4, limit: int = 8) -> None:
        self._store = store
        self._workers = workers
        self._slots = threading.Semaphore(limit)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` (unless already there), in the background."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="dataver-shards")
        self._slots.acquire()
        self._futures.append(self._pool.submit(self._put, key, data))

    def _put(self, key: str, data: bytes) -> None:
        try:
            if not self._store.exists(key):
                self._store.write(key, data)
        finally:
            self._slots.release()

    def wait(self) -> None:
        """Wait for every write; raise the first failure."""
        futures, self._futures = self._futures, []
        try:
            for future in futures:
                future.result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


_path = operator.attrgetter("path")
_size = operator.itemgetter(1)
_url = operator.itemgetter(5)
_source = operator.itemgetter(6)


def _safe(entries: list[Entry]) -> bool:
    """Whether entries may skip read-time validation (reads validate all others)."""
    try:
        validate_paths([e.path for e in entries])
    except UnsafePathError:
        return False
    return True


def write_manifest(store: Store, algorithm: str, entries: Iterable[Entry]) -> str:
    """Write a manifest from entries in path order; return its root address."""
    writer = ManifestWriter(store, algorithm)
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= MAX_SHARD:
            writer.extend(batch)
            batch = []
    writer.extend(batch)
    return writer.finish()
