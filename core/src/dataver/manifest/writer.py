"""Writing manifests: content-defined shards, so unchanged regions are shared between versions.

A shard ends after an entry whose path's CRC-32 has its low 12 bits clear (about 4,096
entries a shard), or at 16,384 entries, or once its entries' JSON passes about 4 MiB
(:data:`~dataver.manifest.codec.SHARD_BYTES`; 16,384 entries of paths up to ~130 bytes, or
4,096 of paths up to ~900, stay under it). The cut depends only on the entries themselves,
so a child that changes 1% of a large dataset produces the same shards as its parent almost
everywhere, and writes only the few that differ; after a cut made by one of the two caps,
the next content-defined cut brings parent and child back in step.
"""

from __future__ import annotations

import bisect
import operator
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import accumulate
from typing import TYPE_CHECKING

from dataver.errors import UnsafePathError
from dataver.layout import manifest_key
from dataver.manifest.codec import (
    MAX_SHARD_ENTRIES,
    SHARD_BYTES,
    ManifestRoot,
    ShardRef,
    compress,
    digest,
    encode_root,
    readable,
    shard_payload,
)
from dataver.manifest.reader import remember_shard
from dataver.paths import validate_paths

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

BOUNDARY_MASK = 0xFFF
MAX_SHARD = MAX_SHARD_ENTRIES
ENTRY_OVERHEAD = 128
"""Estimated JSON bytes of an entry besides its strings (hash 67, size, pack, offset)."""


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
        self._buffered = 0  # NOTE: estimated JSON bytes of the buffer (see _weights)
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
        self._buffered += sum(_weights([entry]))
        if (
            len(self._buffer) >= MAX_SHARD
            or self._buffered >= SHARD_BYTES
            or is_boundary(entry.path)
        ):
            self._flush()

    def extend(self, entries: list[Entry]) -> None:
        """Append entries already in strictly increasing path order (faster than :meth:`add`)."""
        if not entries:
            return
        if self._last is not None and entries[0].path <= self._last:
            raise ValueError(f"manifest entries out of order at {entries[0].path!r}")
        self._last = entries[-1].path
        # NOTE: a slice at a time, so the encoded paths held stay at one shard's worth.
        for at in range(0, len(entries), MAX_SHARD):
            self._extend(entries[at : at + MAX_SHARD])

    def _extend(self, entries: list[Entry]) -> None:
        encoded = list(map(str.encode, map(_path, entries)))
        cuts = [i for i, crc in enumerate(map(zlib.crc32, encoded)) if not crc & BOUNDARY_MASK]
        # NOTE: ends[i] is the estimated JSON size of entries[:i]; accumulate runs in C.
        ends = list(accumulate(_weights(entries, encoded), initial=0))
        start = 0
        for cut in [*cuts, None]:
            end = len(entries) if cut is None else cut + 1
            while start < end:
                take = self._room(ends, start, end)
                self._buffer.extend(entries[start : start + take])
                self._buffered += ends[start + take] - ends[start]
                start += take
                if len(self._buffer) >= MAX_SHARD or self._buffered >= SHARD_BYTES:
                    self._flush()
            if cut is not None:
                self._flush()

    def _room(self, ends: list[int], start: int, end: int) -> int:
        """How many of the entries ``start:end`` join the buffer before a cap ends it."""
        take = min(end - start, MAX_SHARD - len(self._buffer))
        # NOTE: the first entry at which the buffer's bytes reach SHARD_BYTES ends the shard.
        target = ends[start] + SHARD_BYTES - self._buffered
        reach = bisect.bisect_left(ends, target, lo=start + 1, hi=start + take + 1)
        return min(take, reach - start)

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
        entries, self._buffer, self._buffered = self._buffer, [], 0
        if entries:
            self._store(entries, validated=validated)

    def _store(self, entries: list[Entry], *, validated: bool) -> None:
        payload = shard_payload(entries)
        if not readable(payload) and len(entries) > 1:
            # NOTE: rare (paths full of '"', ',' or ':'; or an old shard re-encoded whole by
            # add_block): split until readers accept every half, so nothing written is refused.
            half = len(entries) // 2
            self._store(entries[:half], validated=validated)
            self._store(entries[half:], validated=validated)
            return
        data = compress(payload)
        ref = digest(data)
        self._puts.put(manifest_key(ref), data)
        shard = ShardRef(
            hash=ref,
            first=entries[0].path,
            last=entries[-1].path,
            count=len(entries),
            # NOTE: counted in C (map, count): a shard has thousands of entries.
            bytes=sum(map(_size, entries)),
            pending=len(entries) - list(map(_source, entries)).count(None),
            links=len(entries) - list(map(_url, entries)).count(None),
        )
        self._shards.append(shard)
        if validated or _safe(entries):
            remember_shard(ref, entries, len(payload))
        self._files += shard.count
        self._bytes += shard.bytes
        self._pending += shard.pending
        self._links += shard.links

    def finish(self) -> str:
        """Write the last shard and the root; return the root's address.

        The root is written only once every shard is stored: a root never names a shard
        that is not there.

        Raises:
            ValidationError: The version needs more shards than a root may list
                (:data:`~dataver.manifest.codec.MAX_ROOT_SHARDS`).
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


def _weights(entries: list[Entry], encoded: list[bytes] | None = None) -> Iterable[int]:
    """Estimated JSON bytes of each entry: its UTF-8 path, url and source, plus the rest.

    Args:
        entries: The entries.
        encoded: Their paths, UTF-8 encoded, if the caller has them.
    """
    paths = encoded if encoded is not None else map(str.encode, map(_path, entries))
    weights: Iterable[int] = map(ENTRY_OVERHEAD.__add__, map(len, paths))  # NOTE: in C
    # NOTE: links and pending entries are the minority; most shards skip this loop.
    for column in (_url, _source):
        if any(map(column, entries)):
            weights = list(weights)
            for i, text in enumerate(map(column, entries)):
                if text:
                    weights[i] += len(text.encode())
    return weights


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
