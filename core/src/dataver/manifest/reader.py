"""Reading a manifest lazily, shard by shard, so memory stays flat in the number of files."""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from dataver.errors import ConfigurationError, FormatError, ObjectNotFoundError
from dataver.layout import manifest_key
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    decode_root,
    decode_shard_measured,
    digest,
)
from dataver.settings import get_settings

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

    @property
    def streams(self) -> bool:
        """Whether a walk of every shard should not keep them decoded in memory: the manifest
        has more shards than the in-memory cache holds, so a walk would evict each one
        before a later walk came back to it (no hit, only the cache's memory)."""
        return len(self.root.shards) > SHARD_CACHE_SIZE

    def load_shard(
        self, shard: ShardRef, data: bytes | None = None, *, keep: bool = True
    ) -> list[Entry]:
        """Return the entries of one shard (validated, and inside the range the root gives).

        Args:
            shard: The shard, as its root lists it.
            data: Its stored bytes if already read (checked against its address), else None.
            keep: Keep it decoded in the in-memory cache (False for a walk of a manifest
                that :attr:`streams`).

        Raises:
            FormatError: The shard is malformed, decompresses to more than its count of
                entries can take (refused before it is inflated further), or holds paths
                outside its range in the root (two shards could then hold the same path).
        """
        entries = _load_shard(self.store, shard.hash, shard.count, data, keep=keep)
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
        ahead, keep = self.store.read_ahead, not self.streams
        if len(shards) <= 1 or ahead <= 0:
            for shard in shards:
                yield shard, self.load_shard(shard, keep=keep)
            return
        with ThreadPoolExecutor(max_workers=ahead) as pool:
            futures = [pool.submit(_prefetch, self.store, s.hash) for s in shards[:ahead]]
            for i, shard in enumerate(shards):
                data = futures[i].result()
                if i + ahead < len(shards):
                    futures.append(pool.submit(_prefetch, self.store, shards[i + ahead].hash))
                yield shard, self.load_shard(shard, data, keep=keep)

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


def _load_shard(
    store: Store, ref: str, count: int, data: bytes | None = None, *, keep: bool = True
) -> list[Entry]:
    # NOTE: shards are immutable and named by the hash of their bytes, so a decoded shard is
    # valid for any store that holds that name; callers never mutate the lists.
    with _shards_lock:
        cached = _shards.get(ref)
        if cached is not None:
            _shards.move_to_end(ref)
            return cached[0]
    if data is None:
        data = read_object(store, ref)
    # NOTE: ``data`` hashes to ``ref`` (read_object checked it), so if these bytes are
    # known to pass the codec's checks, they pass again (TrustedShards). The root's count
    # bounds what the shard may decompress to (see codec.shard_limit), trusted or not.
    trusted = ref in TRUSTED
    entries, size = decode_shard_measured(data, ref, count, trusted=trusted)
    if not trusted:
        TRUSTED.add(ref)  # NOTE: it passed the checks
    if keep:
        _keep(ref, entries, size)
    return entries


def remember_shard(ref: str, entries: list[Entry], size: int) -> None:
    """Keep a decoded shard (e.g. one just written) so the next read needs no decoding.

    A shard a writer keeps is not among the :data:`TRUSTED` ones: this process uses its
    entries as they are, but a later process decodes it and runs the checks once.

    Args:
        ref: The shard's address.
        entries: Its entries.
        size: The size of its JSON: the cache holds at most :data:`SHARD_CACHE_BYTES`.
    """
    _keep(ref, entries, size)


def _keep(ref: str, entries: list[Entry], size: int) -> None:
    """Keep a decoded shard in memory (at most :data:`SHARD_CACHE_SIZE`, least recently used
    first out)."""
    with _shards_lock:
        _shards[ref] = (entries, size)
        _shards.move_to_end(ref)
        # NOTE: summing at most 64 sizes is cheaper than keeping a total that a cleared
        # cache (tests do) would leave wrong.
        while len(_shards) > SHARD_CACHE_SIZE or (
            len(_shards) > 1 and sum(s for _, s in _shards.values()) > SHARD_CACHE_BYTES
        ):
            _shards.popitem(last=False)


class TrustedShards:
    """Addresses of shards whose decoding passed the codec's checks, so that a later decode
    of the same bytes skips them (about 4 ms per 10,000 entries; the size bounds and the
    shard's structure are checked every time).

    A shard's address is the SHA-256 of its bytes, verified on every read
    (:func:`read_object`), so an address stands for those very bytes: bytes that passed once
    pass again. Addresses are kept in memory (the newest :data:`TRUSTED_IN_MEMORY`) and
    appended, one a line, to a file of the local cache
    (``<DATAVER_CACHE_DIR>/manifest-trusted-v1``; the newest :data:`TRUSTED_ON_DISK`), so
    that later processes on this machine skip the checks too. That file is trusted as the
    rest of the local cache is (the stat cache vouches for hashes, the blobs for content); a
    line that is not an address is ignored, and a file that cannot be read or written only
    costs checks. ``v1`` names the codec's checks: a release that adds a check moves to
    ``v2``, so nothing is skipped that the new check never ran on. ``fsck`` runs every check.

    Only shards that passed the checks are added. A shard a writer keeps (it made it from
    entries it holds) is not: checking it as it is written costs as much as checking it
    once when it is read (measured: ~4 ms for 10,000 entries either way), and trusting it
    unchecked would let whatever a caller hands the writer past the checks of every later
    process on the machine.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: OrderedDict[str, None] = OrderedDict()
        self._file: Path | None = None
        self._for: str | None = _NOT_LOADED  # NOTE: the DATAVER_CACHE_DIR the file was read for

    def __contains__(self, ref: object) -> bool:
        with self._lock:
            self._load()
            return ref in self._known

    def add(self, ref: str) -> None:
        """Remember that the shard at ``ref`` is known to pass the checks."""
        with self._lock:
            self._load()
            if ref in self._known:
                return
            self._remember(ref)
            if self._file is not None:
                with contextlib.suppress(OSError):
                    _append(self._file, ref)

    def forget(self) -> None:
        """Forget every address, here and in the file (tests, or a suspect local cache)."""
        with self._lock:
            self._load()
            self._known.clear()
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.unlink(missing_ok=True)

    def _remember(self, ref: str) -> None:
        self._known[ref] = None
        if len(self._known) > TRUSTED_IN_MEMORY:
            self._known.popitem(last=False)

    def _load(self) -> None:
        """Read the file of the local cache the environment names now, once per folder."""
        folder = os.environ.get("DATAVER_CACHE_DIR")
        if folder == self._for:
            return
        self._for = folder
        self._file = _trusted_file()
        if self._file is None:
            return
        try:
            lines = self._file.read_bytes().split()
        except OSError:
            return
        known = [line for line in lines if len(line) == _ADDRESS and line.isalnum()]
        for line in known[-TRUSTED_ON_DISK:]:
            self._remember(line.decode("ascii"))
        if len(lines) > 2 * TRUSTED_ON_DISK:
            with contextlib.suppress(OSError):
                _rewrite(self._file, known[-TRUSTED_ON_DISK:])


TRUSTED_IN_MEMORY = 16384
"""Most trusted shard addresses kept in memory (~2 MiB; a million files are ~250 shards)."""
TRUSTED_ON_DISK = 8192
"""Most addresses the local cache's file keeps (~0.5 MiB): past twice this, it is cut to the
newest ones when a process reads it."""
_ADDRESS = 64
_NOT_LOADED = "\0"  # NOTE: no environment variable holds a NUL


def _trusted_file() -> Path | None:
    """Where the local cache keeps trusted shard addresses, or None if it cannot say.

    NOTE: ``DATAVER_CACHE_DIR`` as it is when set (what the settings would give), else the
    settings' default: building the settings costs ~0.7 ms, more than a small shard's checks.
    """
    folder = os.environ.get("DATAVER_CACHE_DIR")
    try:
        root = Path(folder) if folder else get_settings().cache_dir
    except ConfigurationError:
        return None
    return root.expanduser() / "manifest-trusted-v1"


def _append(path: Path, ref: str) -> None:
    """Append one line (one ``write`` with ``O_APPEND``: concurrent writers never mix lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_CLOEXEC, 0o600)
    try:
        os.write(fd, f"{ref}\n".encode("ascii"))
    finally:
        os.close(fd)


def _rewrite(path: Path, lines: list[bytes]) -> None:
    """Replace the file with ``lines`` (atomically; an append racing with it may be lost,
    which only costs its shard's checks once more)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(b"\n".join(lines) + b"\n")
    os.replace(temporary, path)


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

TRUSTED = TrustedShards()
"""The shards known to pass the codec's checks (see :class:`TrustedShards`)."""
