"""Reading a manifest lazily, shard by shard, so memory stays flat in the number of files."""

from __future__ import annotations

import bisect
import functools
import itertools
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING

from dataver.errors import FormatError, ObjectNotFoundError
from dataver.layout import manifest_key
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    decode_root,
    decode_shard_measured,
    digest,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store


def read_object(store: Store, ref: str) -> bytes:
    """Read a manifest object and check that its bytes match its address.

    Raises:
        FormatError: The bytes do not hash to ``ref`` (corrupt or tampered).
        ObjectNotFoundError: The object is missing.
    """
    data = store.read(manifest_key(ref))
    if digest(data) != ref:
        raise FormatError(f"manifest object {ref} is corrupt: its bytes do not match its hash")
    return data


SHARD_CACHE_SIZE = 64
"""Decoded shards kept in memory (about 4,096 entries each)."""
SHARD_CACHE_BYTES = 64 << 20
"""Most JSON (as stored, decompressed) of the decoded shards kept in memory: 64 MiB. 64
typical shards take ~32 MiB, so this binds only for shards of long paths (16 of the
writer's largest) or forged ones, which could otherwise pin 64 x 16 MiB."""


class Manifest:
    """A stored manifest: its root in memory, its shards loaded on demand.

    Args:
        store: The registry store.
        ref: The root's address, or None for the empty manifest.
        algorithm: Hash algorithm for an empty manifest.
    """

    def __init__(self, store: Store, ref: str | None, algorithm: str = "blake3") -> None:
        self.store = store
        self.ref = ref
        self._algorithm = algorithm

    @functools.cached_property
    def root(self) -> ManifestRoot:
        """The manifest's root (counts, shard list), read on first use.

        NOTE: lazy, so a get of a cached version reads nothing from the registry.
        """
        if self.ref is None:
            return ManifestRoot(hash_algorithm=self._algorithm, files=0, bytes=0)
        return _load_root(self.store, self.ref)

    @functools.cached_property
    def _firsts(self) -> list[str]:
        return [shard.first for shard in self.root.shards]

    @property
    def shards(self) -> tuple[ShardRef, ...]:
        return self.root.shards

    def __len__(self) -> int:
        return self.root.files

    def load_shard(self, shard: ShardRef, data: bytes | None = None) -> list[Entry]:
        """Return the entries of one shard (validated, and inside the range the root gives).

        Args:
            shard: The shard, as its root lists it.
            data: Its stored bytes if already read (checked against its address), else None.

        Raises:
            FormatError: The shard is malformed, decompresses to more than its count of
                entries can take (refused before it is inflated further), or holds paths
                outside its range in the root (two shards could then hold the same path).
        """
        entries = _load_shard(self.store, shard.hash, shard.count, data)
        if len(entries) != shard.count or (
            entries and (entries[0].path < shard.first or entries[-1].path > shard.last)
        ):
            raise FormatError(
                f"manifest shard {shard.hash} does not match its root: it holds "
                f"{len(entries)} entries, the root lists {shard.count} "
                f"from {shard.first!r} to {shard.last!r}"
            )
        return entries

    def iter_shards(self, start: str = "") -> Iterator[tuple[ShardRef, list[Entry]]]:
        """Yield (shard, entries) from the shard holding ``start`` on, prefetching ahead.

        NOTE: the threads only read (and hash) the stored bytes, the slow part on S3; shards
        are decoded here, one at a time on one thread. Decoding holds the GIL anyway, and
        a decode on each thread would leave each thread's malloc arena holding the peak of
        its largest shard (six near-limit hostile shards read 4 ahead: 69 MiB of peak RSS
        decoded on the threads, 32.5 MiB here).
        """
        index = max(bisect.bisect_right(self._firsts, start) - 1, 0) if start else 0
        shards = self.root.shards[index:]
        ahead = self.store.read_ahead
        if len(shards) <= 1 or ahead <= 0:
            for shard in shards:
                yield shard, self.load_shard(shard)
            return
        with ThreadPoolExecutor(max_workers=ahead) as pool:
            futures = [pool.submit(_prefetch, self.store, s.hash) for s in shards[:ahead]]
            for i, shard in enumerate(shards):
                data = futures[i].result()
                if i + ahead < len(shards):
                    futures.append(pool.submit(_prefetch, self.store, shards[i + ahead].hash))
                yield shard, self.load_shard(shard, data)

    def __iter__(self) -> Iterator[Entry]:
        return self.iter_entries()

    def shards_covering(self, folder: str) -> list[str]:
        """Hashes of the shards that hold (or could hold) paths inside ``folder`` ("": all).

        Two manifests with the same list hold the same entries inside the folder.
        """
        return [shard.hash for shard in self._covering(folder)]

    def preload(self, folder: str, limit: int = SHARD_CACHE_SIZE // 2) -> None:
        """Decode ahead (into the in-memory shard cache) the shards a read of ``folder`` needs.

        At most ``limit`` shards, so a huge manifest does not evict what it loads.
        """
        for shard in self._covering(folder)[:limit]:
            self.load_shard(shard)

    def _covering(self, folder: str) -> list[ShardRef]:
        if not folder:
            return list(self.root.shards)
        low, high = folder + "/", folder + "0"  # NOTE: "0" is the character after "/"
        return [s for s in self.root.shards if s.last >= low and s.first < high]

    def iter_entries(self, prefix: str = "") -> Iterator[Entry]:
        """Yield entries in path order; with ``prefix``, only paths under it."""
        if not prefix:
            # NOTE: chained in C: no generator frame to resume per entry (a third of the
            # time of a 10,000-file comparison).
            return itertools.chain.from_iterable(entries for _, entries in self.iter_shards())
        return self._iter_prefixed(prefix)

    def _iter_prefixed(self, prefix: str) -> Iterator[Entry]:
        for _, entries in self.iter_shards(prefix):
            for entry in entries:
                if entry.path < prefix:
                    continue
                if not entry.path.startswith(prefix):
                    return
                yield entry

    def iter_folder(self, folder: str) -> Iterator[Entry]:
        """Yield the entries inside ``folder`` ("" for everything)."""
        return self.iter_entries(folder + "/" if folder else "")

    def get(self, path: str) -> Entry | None:
        """Return the entry at ``path`` or None, loading at most one shard."""
        if not self._firsts:
            return None
        index = bisect.bisect_right(self._firsts, path) - 1
        if index < 0 or path > self.root.shards[index].last:
            return None
        entries = self.load_shard(self.root.shards[index])
        pos = bisect.bisect_left(entries, path, key=lambda e: e.path)
        if pos < len(entries) and entries[pos].path == path:
            return entries[pos]
        return None


@lru_cache(maxsize=64)
def _load_root_cached(store: Store, ref: str) -> ManifestRoot:
    return decode_root(read_object(store, ref), ref)


def _load_root(store: Store, ref: str) -> ManifestRoot:
    try:
        return _load_root_cached(store, ref)
    except ObjectNotFoundError as exc:
        raise ObjectNotFoundError(f"manifest {ref} is missing from the registry", ref=ref) from exc


_shards: OrderedDict[str, tuple[list[Entry], int]] = OrderedDict()
"""Decoded shards by address: (entries, size of their JSON), least recently used first."""
_shards_lock = threading.Lock()


def _prefetch(store: Store, ref: str) -> bytes | None:
    """The stored bytes of a shard not decoded in memory yet (None if it is)."""
    with _shards_lock:
        if ref in _shards:
            return None
    return read_object(store, ref)


def _load_shard(store: Store, ref: str, count: int, data: bytes | None = None) -> list[Entry]:
    # NOTE: shards are immutable and named by the hash of their bytes, so a decoded shard is
    # valid for any store that holds that name; callers never mutate the lists.
    with _shards_lock:
        cached = _shards.get(ref)
        if cached is not None:
            _shards.move_to_end(ref)
            return cached[0]
    if data is None:
        data = read_object(store, ref)
    # NOTE: the root's count bounds what the shard may decompress to (see codec.shard_limit).
    entries, size = decode_shard_measured(data, ref, count)
    remember_shard(ref, entries, size)
    return entries


def remember_shard(ref: str, entries: list[Entry], size: int) -> None:
    """Keep a decoded shard (e.g. one just written) so the next read needs no decoding.

    Args:
        ref: The shard's address.
        entries: Its entries.
        size: The size of its JSON: the cache holds at most :data:`SHARD_CACHE_BYTES`.
    """
    with _shards_lock:
        _shards[ref] = (entries, size)
        _shards.move_to_end(ref)
        # NOTE: summing at most 64 sizes is cheaper than keeping a total that a cleared
        # cache (tests do) would leave wrong.
        while len(_shards) > SHARD_CACHE_SIZE or (
            len(_shards) > 1 and sum(s for _, s in _shards.values()) > SHARD_CACHE_BYTES
        ):
            _shards.popitem(last=False)
