"""Uploading pending content: only bytes the registry does not hold, small files packed.

Content is located, in order, (1) in the version's upload journal (a resumed upload), (2) in
the version's own or its parents' manifests (unchanged, renamed or moved files), (3) as an
object already in the registry (another dataset stored it). Only what remains is sent: small
files concatenated into packs of ``pack_size`` bytes, so 100,000 small files are a handful
of writes; files of at least ``chunk_threshold`` bytes cut into content-defined chunks, of
which only those the parents' file at the same path (or this upload) lacks are packed and
sent; other large files as single objects. Each pack is journalled once stored, so a killed
upload resumes where it stopped, chunks included.
"""

from __future__ import annotations

import logging
import operator
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from dataver import chunking, progress
from dataver.errors import FormatError, IntegrityError, NotFoundError, ObjectNotFoundError
from dataver.hashing import hash_bytes, hash_file, new_hasher
from dataver.layout import journal_prefix, object_key, pack_key
from dataver.manifest import recipe
from dataver.statcache import FileStat
from dataver.workers import each, stopping_pool

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from concurrent.futures import Future, ThreadPoolExecutor

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.settings import Settings
    from dataver.statcache import StatCache
    from dataver.storage.base import Store

log = logging.getLogger("dataver.upload")


@dataclass
class UploadResult:
    """What an upload changed: located entries by path, and the bytes it stored."""

    located: dict[str, Entry] = field(default_factory=dict)
    stored_bytes: int = 0


@dataclass(frozen=True)
class _Location:
    pack: str | None
    offset: int
    chunks: str | None = None


_ChunkIndex = dict[str, tuple[str, int]]
"""Chunks already stored: chunk hash -> (pack, offset)."""


def upload_pending(
    store: Store,
    settings: Settings,
    *,
    version_id: str,
    pending: list[Entry],
    search: Sequence[Manifest],
    stat_cache: StatCache,
    on_bytes: Callable[[int], None] | None = None,
    meanwhile: Callable[[dict[str, Entry]], None] | None = None,
) -> UploadResult:
    """Store the content of pending entries; return their new locations.

    Args:
        store: The registry store.
        settings: Settings in force (workers, pack sizes).
        version_id: The Uploading version (its upload journal).
        pending: Entries whose bytes are only local (``source`` set).
        search: Manifests whose stored content may already hold some of those bytes (the
            version's own and its parents'), searched in order.
        stat_cache: The stat cache: the row of a file found changed is dropped, so that
            adding it again hashes it.
        on_bytes: Progress callback.
        meanwhile: Called with the new locations (``result.located``) as soon as they are
            known, while the last bytes are still being written; this returns after both.
            NOTE: the caller writes the manifest naming them then (a 1%-changed child:
            its shards are encoded while its pack is written).

    Raises:
        IntegrityError: A local file changed since it was added.
        NotFoundError: A local file was removed since it was added.
    """
    if not pending:
        if meanwhile is not None:
            meanwhile({})
        return UploadResult()
    algorithm = search[0].root.hash_algorithm
    wanted: set[str | None] = {e.hash for e in pending if e.hash is not None}
    known, stored_chunks = _read_journal(store, version_id, wanted)
    known.update(_located_in(wanted - known.keys(), search))
    sources = {e.hash: e for e in pending if e.hash not in known}
    result = UploadResult()
    with progress.task("upload", sum(e.size for e in sources.values())) as advance:
        report = progress.chain(on_bytes, advance)
        uploader = _Uploader(store, settings, version_id, algorithm, stat_cache, result, report)
        uploader.chunk_index = stored_chunks
        chunked = [e for e in sources.values() if chunking.is_chunked(e.size, settings)]
        uploader.chunk_index.update(_parent_chunks(store, chunked, search))

        def located(found: dict[str | None, _Location]) -> None:
            known.update(found)
            for entry in pending:
                where = known[entry.hash]
                result.located[entry.path] = entry._replace(
                    source=None, pack=where.pack, offset=where.offset, chunks=where.chunks
                )
            if meanwhile is not None:
                meanwhile(result.located)

        uploader.run(list(sources.values()), located)
    return result


def _read_journal(
    store: Store, version_id: str, wanted: set[str | None]
) -> tuple[dict[str | None, _Location], _ChunkIndex]:
    """Where the journal says the ``wanted`` contents are stored (only those: a writer's
    journal of millions of files is read a pack's worth at a time), and every chunk it
    stored (a resumed upload of a large file sends only the chunks still missing)."""
    known: dict[str | None, _Location] = {}
    chunks: _ChunkIndex = {}
    for raw in _journal(store, version_id):
        if isinstance(raw.get("object"), str):
            if raw["object"] in wanted:
                known[raw["object"]] = _Location(None, 0)
            continue
        if isinstance(raw.get("chunked"), str) and isinstance(raw.get("chunks"), str):
            if raw["chunked"] in wanted:
                known[raw["chunked"]] = _Location(None, 0, raw["chunks"])
            continue
        pack = raw.get("pack")
        files = raw.get("files")
        if isinstance(pack, str) and isinstance(files, dict):
            for digest in files.keys() & wanted:
                known[digest] = _Location(pack, int(files[digest]))
        if isinstance(pack, str) and isinstance(raw.get("chunks"), dict):
            chunks.update((h, (pack, int(o))) for h, o in raw["chunks"].items())
    return known, chunks


def _parent_chunks(store: Store, entries: list[Entry], search: Sequence[Manifest]) -> _ChunkIndex:
    """The chunks of the files the parents hold at the paths of ``entries``: an edited
    large file shares every chunk its edit did not touch."""
    found: _ChunkIndex = {}
    for entry in entries:
        for manifest in search:
            before = manifest.get(entry.path)
            if before is None or not before.is_chunked:
                continue
            try:
                listed = recipe.read(store, before)
                found.update((c.hash, (c.pack, c.offset)) for _, c in recipe.chunks(store, listed))
            except (FormatError, ObjectNotFoundError) as exc:
                # NOTE: only an opportunity to share is lost: the file is stored whole.
                log.warning("not sharing chunks with %s: %s", before.path, exc)
            break
    return found


def _journal(store: Store, version_id: str) -> Iterator[dict[str, Any]]:
    """The journal's entries, one at a time.

    NOTE: read in sequence on purpose: an entry names every file of its pack, and a writer
    re-reads its journal for each slice; 16 entries decoded at once (on threads, each with
    its own allocator arena) took a 1,000,000-file writer from 187 to 442 MiB peak.
    """
    for info in store.list(journal_prefix(version_id)):
        try:
            raw = orjson.loads(store.read(info.key))
        except (ObjectNotFoundError, orjson.JSONDecodeError):
            log.warning("ignoring unreadable upload journal %s", info.key)
            continue
        if isinstance(raw, dict):
            yield raw


def journal_stored_bytes(store: Store, version_id: str) -> int:
    """Bytes this version's uploads added to the registry, resumed attempts included."""
    return sum(
        raw["stored"] for raw in _journal(store, version_id) if type(raw.get("stored")) is int
    )


def _located_in(
    wanted: set[str | None], manifests: Iterable[Manifest]
) -> dict[str | None, _Location]:
    found: dict[str | None, _Location] = {}
    if not wanted:
        return found
    for manifest in manifests:
        for _, entries in manifest.iter_shards():
            # NOTE: a set intersection per shard (in C) finds the few shards holding wanted
            # content; only their entries are looked at one by one.
            if wanted.isdisjoint(map(_hash_of, entries)):
                continue
            for entry in entries:
                if entry.hash in wanted and not entry.is_pending and not entry.is_link:
                    found.setdefault(entry.hash, _Location(entry.pack, entry.offset, entry.chunks))
            if len(found) == len(wanted):
                return found
    return found


_hash_of = operator.itemgetter(2)


class _Uploader:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        version_id: str,
        algorithm: str,
        stat_cache: StatCache,
        result: UploadResult,
        on_bytes: Callable[[int], None] | None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.version_id = version_id
        self.algorithm = algorithm
        self.stat_cache = stat_cache
        self.result = result
        self.on_bytes = on_bytes
        self._lock = threading.Lock()
        # NOTE: bounds the packs held in memory while they upload.
        self._slot_count = max(2, settings.max_workers // 2)
        self._slots = threading.Semaphore(self._slot_count)
        self._cutting = threading.Semaphore(self._slot_count)
        self.chunk_index: _ChunkIndex = {}
        self._packs: ThreadPoolExecutor | None = None

    def run(
        self, entries: list[Entry], located: Callable[[dict[str | None, _Location]], None]
    ) -> None:
        """Store ``entries``; call ``located`` with where they go once all writes are started.

        Returns once every write is done (raising the first failure), and ``located`` too.
        """
        settings = self.settings
        chunked, small, large = _by_kind(entries, settings)
        # NOTE: every pack (of small files or of chunks) is written on a pool of its own,
        # as many threads as there are slots, whose tasks never wait: whoever holds a slot
        # is running or queued there, never behind a file being cut that waits for a slot
        # (with packs of small files on the other pool, one worker hung for good).
        with (
            stopping_pool(self._slot_count, "dataver-pack") as packs,
            stopping_pool(settings.max_workers, "dataver-upload") as pool,
        ):
            self._packs = packs
            recipes = {e.hash: pool.submit(self._put_chunked, e) for e in chunked}
            futures: list[Future[Any]] = [pool.submit(self._put_object, e) for e in large]
            where: dict[str | None, _Location] = {e.hash: _Location(None, 0) for e in large}
            futures.extend(self._submit_packs(packs, small, where))
            futures.extend(recipes.values())
            try:
                # NOTE: a chunked file's place (its list) is known once it is cut.
                where.update((h, _Location(None, 0, f.result())) for h, f in recipes.items())
                located(where)
            finally:
                for future in futures:
                    future.result()

    def _submit_packs(
        self, packs: ThreadPoolExecutor, small: list[Entry], where: dict[str | None, _Location]
    ) -> list[Future[Any]]:
        """Start writing packs of ``small``; record in ``where`` each file's pack and offset."""
        futures = []
        buffer = bytearray()
        offsets: dict[str | None, int] = {}
        for entry in small:
            data = self._read_verified(entry)
            offsets[entry.hash] = len(buffer)
            buffer += data
            if len(buffer) >= self.settings.pack_size:
                # NOTE: the buffer itself is written (no copy of it): a new one takes its place.
                futures.append(self._submit_pack(packs, buffer, offsets, where))
                buffer, offsets = bytearray(), {}
        if buffer:
            futures.append(self._submit_pack(packs, buffer, offsets, where))
        return futures

    def _submit_pack(
        self,
        pool: ThreadPoolExecutor,
        data: bytearray,
        offsets: dict[str | None, int],
        where: dict[str | None, _Location],
    ) -> Future[None]:
        # NOTE: a pack is named by the SHA-256 of its bytes, so its files' locations are
        # known before it is written.
        digest = hash_bytes(data, "sha256")
        where.update((h, _Location(digest, offset)) for h, offset in offsets.items())
        self._slots.acquire()
        return pool.submit(self._put_pack, data, digest, offsets)

    def _read_verified(self, entry: Entry) -> bytes:
        source = _source(entry)
        data = source.read_bytes()
        if len(data) != entry.size or hash_bytes(data, self.algorithm) != entry.hash:
            raise self._changed(entry, source)
        return data

    def _put_pack(
        self,
        data: bytes | bytearray,
        digest: str,
        offsets: dict[str | None, int],
        kind: str = "files",
    ) -> None:
        try:
            key = pack_key(digest)
            stored = 0
            if not self.store.exists(key):
                self.store.write(key, data)
                stored = len(data)
                self._count(stored)
            if kind == "files":
                self._done(len(data))
            else:
                # NOTE: shared with other files only once written: a file whose list names
                # a chunk is journalled as done, and a resumed upload trusts that.
                with self._lock:
                    self.chunk_index.update((h, (digest, o)) for h, o in offsets.items() if h)
            journal = {"pack": digest, kind: offsets, "stored": stored}
            name = f"{journal_prefix(self.version_id)}{digest}.json"
            self.store.write(name, orjson.dumps(journal))
        finally:
            self._slots.release()

    def _put_object(self, entry: Entry) -> None:
        digest = entry.hash or ""
        key = object_key(digest)
        stored = 0
        if self.store.exists(key):
            self._done(entry.size)
        else:
            source = _source(entry)
            before = FileStat.of(source.stat())
            self._check_unchanged(entry, source, before)
            # NOTE: the store reports the bytes as they move: a large file's bar moves.
            with progress.transfer(entry.size, self.on_bytes):
                self.store.put_file(source, key)
                if FileStat.of(source.stat()) != before:
                    self.store.delete(key)
                    raise self._changed(entry, source)
            stored = entry.size
            self._count(stored)
        journal = {"object": digest, "stored": stored}
        name = f"{journal_prefix(self.version_id)}object-{digest}.json"
        self.store.write(name, orjson.dumps(journal))

    def _put_chunked(self, entry: Entry) -> str:
        """Store the chunks of a large file that the registry lacks, then its chunk list;
        return the list's address.

        NOTE: the file is hashed whole while it is cut (as :meth:`_check_unchanged` does
        for an object): a list names the file's hash, and chunks of other bytes under that
        name would be shared by every later version holding that content.
        """
        # NOTE: as many files are cut at once as packs may wait in memory: each holds a
        # pack's buffer, and on 8 threads eight did (a 1.5 GiB upload peaked at 535 MiB).
        with self._cutting:
            return self._cut(entry)

    def _cut(self, entry: Entry) -> str:
        source = _source(entry)
        before = FileStat.of(source.stat())
        whole = new_hasher(self.algorithm)
        rows: list[list[Any]] = []  # [hash, size, pack, offset]
        if self._packs is None:
            raise RuntimeError("chunked files are stored only from run()")
        cutter = _PackCutter(self, self._packs)
        sizes = chunking.params(self.settings)
        for view in chunking.cut(source, sizes):
            whole.update(view)
            row: list[Any] = [hash_bytes(view, self.algorithm), len(view), None, 0]
            rows.append(row)
            with self._lock:
                there = self.chunk_index.get(row[0])
            if there is None:
                cutter.add(row, view)
            else:
                row[2], row[3] = there
            self._done(len(view))
        cutter.finish()
        total = sum(row[1] for row in rows)
        if total != entry.size or whole.hexdigest() != entry.hash:
            raise self._changed(entry, source)
        if FileStat.of(source.stat()) != before:
            raise self._changed(entry, source)
        return self._put_recipe(entry, [recipe.Chunk(*row) for row in rows], sizes)

    def _put_recipe(self, entry: Entry, chunks: list[recipe.Chunk], sizes: chunking.Params) -> str:
        address, objects = recipe.encode(entry.hash or "", entry.size, chunks, sizes.describe())
        stored = 0
        for key, data in objects:
            if not self.store.exists(key):
                self.store.write(key, data)
                stored += len(data)
        self._count(stored)
        journal = {"chunked": entry.hash, "chunks": address, "stored": stored}
        name = f"{journal_prefix(self.version_id)}chunked-{entry.hash}.json"
        self.store.write(name, orjson.dumps(journal))
        return address

    def _check_unchanged(self, entry: Entry, source: Path, stat: FileStat) -> None:
        """Raise unless the file about to be stored as ``entry.hash`` has that content.

        NOTE: the file is hashed even when the stat cache vouches for it: the object gets
        the hash as its name, and a file rewritten in place with its old size, mtime and
        inode fools the stat cache. Trusting it here stored the new bytes under the old
        hash: an object whose bytes are not its name, shared by every later version with
        that content, and unreadable. Only content the registry lacks gets here, and it is
        read in full for the upload anyway; hashing it costs less than the copy.
        """
        if stat.size != entry.size or hash_file(source, self.algorithm) != entry.hash:
            raise self._changed(entry, source)

    def _changed(self, entry: Entry, source: Path) -> IntegrityError:
        """The error for a local file whose bytes are not the hash it was added with.

        The file's stat cache row goes first. It may be the reason: a file rewritten in
        place with its old size, mtime and inode keeps a row with its old hash, and every
        later add would take that hash again ("add it again" would fail forever).
        """
        self.stat_cache.forget(entry.source or str(source))
        return _changed(entry)

    def _count(self, size: int) -> None:
        """``size`` bytes were newly stored."""
        with self._lock:
            self.result.stored_bytes += size

    def _done(self, size: int) -> None:
        """``size`` bytes of pending content are in the registry (sent now, or already there)."""
        if self.on_bytes is not None:
            self.on_bytes(size)


def chunk_pack_name(offsets: dict[str | None, int]) -> str:
    """The name of a pack of chunks: the SHA-256 of its index, a line ``<chunk hash>
    <offset>`` for each chunk in it, in order.

    NOTE: not of its bytes, as a pack of files is: hashing the bytes again cost as much as
    cutting them (SHA-256, 1.5 GB/s here), and the index names them as well, each chunk
    being named by its own hash (checked on every read).
    """
    index = "".join(f"{digest} {offset}\n" for digest, offset in offsets.items())
    return hash_bytes(index.encode(), "sha256")


CHUNK_PACK_SIZE = 16 << 20
"""Packs of chunks are cut at this size (or ``pack_size`` if smaller): every large file
being cut holds one pack's buffer, and up to ``max_workers`` are cut at once."""


class _PackCutter:
    """Packs the new chunks of one file as it is cut, fills in each chunk's place once its
    pack is complete (and named: :func:`chunk_pack_name`), and waits for the file's writes."""

    def __init__(self, uploader: _Uploader, packs: ThreadPoolExecutor) -> None:
        self._up = uploader
        self._packs = packs
        self._buffer = bytearray()
        self._offsets: dict[str | None, int] = {}
        self._waiting: list[list[Any]] = []  # rows [hash, size, pack, offset] in the buffer
        self._futures: list[Future[None]] = []

    def add(self, row: list[Any], view: memoryview) -> None:
        """Take a chunk the registry lacks; its row gets its pack and offset later."""
        if row[0] not in self._offsets:
            self._offsets[row[0]] = len(self._buffer)
            self._buffer += view
        self._waiting.append(row)
        if len(self._buffer) >= min(self._up.settings.pack_size, CHUNK_PACK_SIZE):
            self._flush()

    def finish(self) -> None:
        """Write what is left and wait for every pack of the file."""
        if self._buffer:
            self._flush()
        for future in self._futures:
            future.result()

    def _flush(self) -> None:
        up = self._up
        # NOTE: the buffer itself is written (no copy of it): a new one takes its place.
        data = self._buffer
        digest = chunk_pack_name(self._offsets)
        for row in self._waiting:
            row[2], row[3] = digest, self._offsets[row[0]]
        up._slots.acquire()
        self._futures.append(
            self._packs.submit(up._put_pack, data, digest, self._offsets, "chunks")
        )
        self._buffer, self._offsets, self._waiting = bytearray(), {}, []


def _by_kind(
    entries: list[Entry], settings: Settings
) -> tuple[list[Entry], list[Entry], list[Entry]]:
    """Split pending entries into files to chunk, small files to pack (in path order) and
    files to store as objects. Chunking comes first: with ``chunk_threshold`` below
    ``pack_threshold`` a file between the two is chunked, not packed too."""
    chunked: list[Entry] = []
    small: list[Entry] = []
    large: list[Entry] = []
    for entry in entries:
        if chunking.is_chunked(entry.size, settings):
            chunked.append(entry)
        elif entry.size < settings.pack_threshold:
            small.append(entry)
        else:
            large.append(entry)
    small.sort(key=_by_path)
    return chunked, small, large


def _by_path(entry: Entry) -> str:
    return entry.path


def _source(entry: Entry) -> Path:
    path = Path(entry.source or "")
    if not path.is_file():
        raise NotFoundError(
            f"{entry.path}: its local file {entry.source} is gone; add it again or remove it",
            path=entry.path,
        )
    return path


def _changed(entry: Entry) -> IntegrityError:
    # NOTE: ``local`` tells front ends the registry is sound: the local file must be added
    # again (not a damaged object to repair).
    return IntegrityError(
        f"{entry.path}: local file {entry.source} changed since it was added; add it again",
        path=entry.path,
        local=entry.source,
    )


def clear_journal(store: Store, version_id: str) -> None:
    """Drop the upload journal of a version (after finalize, abort or delete)."""
    each(store.delete, [info.key for info in store.list(journal_prefix(version_id))])
