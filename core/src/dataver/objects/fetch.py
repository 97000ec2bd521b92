"""Fetching content from the registry into local files, verified before anyone sees it.

Files that sit close together in one pack are read with one ranged read and split, so a
version of 10,000 small files costs a few reads, not 10,000. Every file is hashed and
compared with its manifest entry before it is renamed into place.

A chunked file (:mod:`dataver.manifest.recipe`) is put together from its chunks: neighbouring
chunks of one pack are read with one ranged read (the same :func:`spans` as small files), the
reads of one file run in parallel on the fetch pool and are written at their offsets into a
temporary file, each chunk's hash is checked as it arrives, and the whole file's hash before it
is renamed into place. Memory stays bounded: a file is never held whole, and at most a window
of its reads is queued at a time.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import threading
import uuid
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from dataver import native, progress
from dataver.errors import IntegrityError
from dataver.hashing import hash_bytes, hash_file
from dataver.layout import object_key, pack_key
from dataver.manifest import recipe
from dataver.storage import links
from dataver.workers import stopping_pool

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from dataver.manifest.entry import Entry
    from dataver.settings import Settings
    from dataver.storage.base import Store

# NOTE: reading a gap of up to this many unused bytes is cheaper than another request.
_COALESCE_GAP = 1 << 20
# NOTE: small enough that a pack of small files splits into several jobs that write their
# files in parallel, large enough that a job is one request.
_MAX_SPAN = 8 << 20
# NOTE: reads of one chunked file queued at a time (times max_workers): enough to keep the
# pool busy, few enough that a huge file's list is walked as its chunks arrive.
_WINDOW = 2
# NOTE: chunks grouped by pack per this many (a part of a long list holds ~4,096).
_BATCH = 4096


class Piece(NamedTuple):
    """One chunk of a file and where it goes: bytes ``[at, at + size)`` of the file are
    bytes ``[offset, offset + size)`` of ``packs/<pack>``, and hash to ``hash``."""

    hash: str
    size: int
    pack: str
    offset: int
    at: int


class _Placed(Protocol):
    """What :func:`spans` groups: something at ``offset`` of a pack, ``size`` bytes long."""

    @property
    def offset(self) -> int: ...

    @property
    def size(self) -> int: ...


_P = TypeVar("_P", bound=_Placed)


def fetch(
    store: Store,
    settings: Settings,
    entries: list[Entry],
    algorithm: str,
    dest: Callable[[Entry], str | os.PathLike[str]],
    on_bytes: Callable[[int], None] | None = None,
    *,
    mode: int = 0o644,
    atomic: bool = True,
    local: Callable[[Entry], Mapping[str, LocalChunk]] | None = None,
    link: Callable[[Entry], str] | None = None,
    placed: Callable[[Entry, int], None] | None = None,
) -> None:
    """Write the bytes of each entry to ``dest(entry)``, verified, atomically.

    Files are created with ``mode`` (the cache passes 0444: read-only blobs). With
    ``atomic=False`` packed files are written in place (for a private folder published as a
    whole); they are still verified before they are written. ``local`` tells, for a chunked
    file, which of its chunks (by hash) can be read on this machine instead (the cache's
    copies of earlier versions of it); each is checked against its hash like any other.
    ``link(entry)``, when given, is a second name each file gets by hard link as soon as it
    is written (the cache's ``blobs/``: in parallel, on the fetching threads).
    ``placed(entry, error)`` is called on the fetching thread once the file of ``entry`` is
    complete and in place, with the errno of that link (0: made, or none asked): what a
    failed link means is the caller's to decide.

    Raises:
        IntegrityError: Stored bytes do not match the manifest's size or hash.
        ObjectNotFoundError: Content is missing from the registry.
    """
    by_pack: dict[str, list[Entry]] = defaultdict(list)
    singles: list[Entry] = []
    chunked: list[Entry] = []
    for entry in entries:
        if entry.is_chunked:
            chunked.append(entry)
        elif entry.pack is not None:
            by_pack[entry.pack].append(entry)
        else:
            singles.append(entry)
    out = _Out(dest, mode, link, placed if placed is not None else _nothing)
    jobs: list[Callable[[Callable[[int], None]], None]] = [
        functools.partial(_fetch_span, store, pack, span, algorithm, out, atomic=atomic)
        for pack, members in by_pack.items()
        for span in spans(sorted(members, key=lambda e: e.offset))
    ]
    jobs.extend(
        functools.partial(_fetch_single, store, settings, e, algorithm, out) for e in singles
    )
    with (
        progress.task("download", sum(e.size for e in entries)) as advance,
        stopping_pool(settings.max_workers, "dataver-fetch") as pool,
    ):
        report = progress.chain(on_bytes, advance)
        futures = [pool.submit(job, report) for job in jobs]
        if chunked:
            job = _ChunkedFetch(
                store,
                pool,
                algorithm,
                out,
                report,
                _WINDOW * settings.max_workers,
                local,
            )
            _fetch_all_chunked(job, settings, chunked)
        for future in futures:
            future.result()


def _nothing(entry: Entry, error: int) -> None:
    """The default ``placed`` of :func:`fetch`."""


@dataclass(frozen=True)
class _Out:
    """Where and how :func:`fetch` writes each file, and whom it tells."""

    dest: Callable[[Entry], str | os.PathLike[str]]
    mode: int
    link: Callable[[Entry], str] | None
    placed: Callable[[Entry, int], None]

    def done(self, entry: Entry, target: str | os.PathLike[str]) -> None:
        """Link the finished file ``target`` of ``entry`` (if asked) and say so."""
        self.placed(entry, 0 if self.link is None else hard_link(target, self.link(entry)))


def hard_link(target: str | os.PathLike[str], name: str) -> int:
    """Hard-link ``target`` to ``name``: 0, or the errno of the failure."""
    try:
        os.link(target, name)
    except OSError as exc:
        return exc.errno or errno.EIO
    return 0


def spans(members: list[_P]) -> list[list[_P]]:
    """Group entries (or chunks) of one pack, sorted by offset, into runs worth one ranged
    read each."""
    out: list[list[_P]] = []
    start = end = 0
    for entry in members:
        stop = entry.offset + entry.size
        if out and entry.offset - end <= _COALESCE_GAP and stop - start <= _MAX_SPAN:
            out[-1].append(entry)
            end = max(end, stop)
            continue
        out.append([entry])
        start, end = entry.offset, stop
    return out


def pack_spans(members: Iterable[Piece]) -> list[tuple[str, list[Piece]]]:
    """Chunks grouped by pack into runs worth one ranged read each: ``[(pack, run), ...]``.

    A chunk a file holds more than once (a run of zeros) is read once for all its places.
    """
    by_pack: dict[str, list[Piece]] = defaultdict(list)
    for piece in members:
        by_pack[piece.pack].append(piece)
    return [
        (pack, run)
        for pack, placed in by_pack.items()
        for run in spans(sorted(placed, key=lambda p: p.offset))
    ]


def pieces(placed: Iterable[tuple[int, recipe.Chunk]]) -> Iterator[Piece]:
    """The chunks of a list (``(file offset, chunk)``, as :mod:`~dataver.manifest.recipe`
    gives them) as pieces."""
    return (Piece(*chunk, at) for at, chunk in placed)


def read_span(store: Store, pack: str, members: Iterable[_Placed]) -> tuple[int, bytes]:
    """One ranged read of ``packs/<pack>`` holding every member: ``(start, bytes)``."""
    listed = list(members)
    start = min(m.offset for m in listed)
    length = max(m.offset + m.size for m in listed) - start
    return start, store.read_range(pack_key(pack), start, length)


def check_chunk(entry: Entry, piece: Piece, data: bytes | memoryview, algorithm: str) -> None:
    """Raise IntegrityError (naming the file and the chunk) unless ``data`` is the chunk."""
    if len(data) != piece.size:
        raise _chunk_mismatch(entry, piece, f"{len(data)} bytes instead of {piece.size}")
    if hash_bytes(data, algorithm) != piece.hash:
        raise _chunk_mismatch(entry, piece, "hash mismatch")


def _chunk_mismatch(entry: Entry, piece: Piece, detail: str) -> IntegrityError:
    return IntegrityError(
        f"chunk {piece.hash} (bytes {piece.at:,}-{piece.at + piece.size:,} of "
        f"{entry.path!r}, at {piece.offset:,} of pack {piece.pack}) is corrupt in the "
        f"registry ({detail})",
        path=entry.path,
        chunk=piece.hash,
        pack=piece.pack,
        expected=piece.hash,
    )


def _fetch_all_chunked(job: _ChunkedFetch, settings: Settings, entries: list[Entry]) -> None:
    """Fetch chunked files: a driver thread per file (at most ``max_workers`` at once)
    walks its list and hands its reads to ``pool``.

    NOTE: the drivers are not threads of ``pool``: a driver waiting for its reads never
    holds a thread those reads need. When one file fails (or Ctrl-C), the others stop at
    their next read instead of finishing their files.
    """
    with stopping_pool(min(len(entries), settings.max_workers), "dataver-chunked") as drivers:
        try:
            for future in [drivers.submit(job.file, e) for e in entries]:
                future.result()
        except BaseException:
            job.stop.set()
            raise


@dataclass(frozen=True)
class _ChunkedFetch:
    """What fetching chunked files shares: where to read, where to write, how to report."""

    store: Store
    pool: ThreadPoolExecutor
    algorithm: str
    out: _Out
    on_bytes: Callable[[int], None]
    window: int
    """Reads of one file queued at a time."""
    local: Callable[[Entry], Mapping[str, LocalChunk]] | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def file(self, entry: Entry) -> None:
        """Put one chunked file together in a temporary file, verify it, rename it into
        place."""
        listed = recipe.read(self.store, entry)
        target = Path(self.out.dest(entry))
        tmp = _tmp_for(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                self._write(entry, listed, fd)
            finally:
                os.close(fd)
            verify_file(entry, tmp, self.algorithm)
            os.chmod(tmp, self.out.mode)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        self.out.done(entry, target)

    def _write(self, entry: Entry, listed: recipe.Recipe, fd: int) -> None:
        """Read every chunk of a file into ``fd`` at its offset, ``window`` reads queued
        at most.

        Returns only once no read is left running (one that failed or was cancelled
        included): the caller closes ``fd`` afterwards.
        """
        pending: set[Future[None]] = set()
        here = _LocalCopies(self.local(entry) if self.local is not None else {}, self.algorithm)
        try:
            for batch in _batches(pieces(recipe.chunks(self.store, listed)), _BATCH):
                remote = [p for p in batch if not here.copy(p, fd, self.on_bytes)]
                for pack, run in pack_spans(remote):
                    if len(pending) >= self.window:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        _raise_first(done)
                    if self.stop.is_set():
                        raise CancelledError(f"fetch of {entry.path!r} stopped")
                    job = functools.partial(
                        _write_run, self.store, entry, fd, pack, run, self.algorithm
                    )
                    pending.add(self.pool.submit(job, self.on_bytes))
            done, pending = wait(pending)
            _raise_first(done)
        except BaseException:
            for future in pending:
                future.cancel()
            wait(pending)
            raise
        finally:
            here.close()


class LocalChunk(NamedTuple):
    """A chunk found on this machine: ``size`` bytes at ``offset`` of the file ``path``."""

    path: str
    offset: int
    size: int


class _LocalCopies:
    """Copies chunks from files on this machine, checked against their hashes (a file
    changed or damaged since is passed over: the chunk is read from the registry)."""

    def __init__(self, found: Mapping[str, LocalChunk], algorithm: str) -> None:
        self._found = found
        self._algorithm = algorithm
        self._files: dict[str, int | None] = {}

    def copy(self, piece: Piece, fd: int, on_bytes: Callable[[int], None]) -> bool:
        """Write ``piece`` into ``fd`` from a local copy; False if there is none."""
        where = self._found.get(piece.hash)
        if where is None or where.size != piece.size:
            return False
        source = self._open(where.path)
        if source is None:
            return False
        data = os.pread(source, piece.size, where.offset)
        if len(data) != piece.size or hash_bytes(data, self._algorithm) != piece.hash:
            return False
        _pwrite_all(fd, memoryview(data), piece.at)
        on_bytes(piece.size)
        return True

    def _open(self, path: str) -> int | None:
        if path not in self._files:
            try:
                self._files[path] = os.open(path, os.O_RDONLY)
            except OSError:
                self._files[path] = None
        return self._files[path]

    def close(self) -> None:
        for fd in self._files.values():
            if fd is not None:
                os.close(fd)


def _write_run(
    store: Store,
    entry: Entry,
    fd: int,
    pack: str,
    run: list[Piece],
    algorithm: str,
    on_bytes: Callable[[int], None],
) -> None:
    start, data = read_span(store, pack, run)
    view = memoryview(data)
    for piece in run:
        chunk = view[piece.offset - start : piece.offset - start + piece.size]
        check_chunk(entry, piece, chunk, algorithm)
        _pwrite_all(fd, chunk, piece.at)
        on_bytes(piece.size)


def _pwrite_all(fd: int, data: memoryview, at: int) -> None:
    while data:
        written = os.pwrite(fd, data, at)
        data, at = data[written:], at + written


def _raise_first(done: Iterable[Future[None]]) -> None:
    for future in done:
        future.result()


def _batches(items: Iterable[Piece], size: int) -> Iterator[list[Piece]]:
    source = iter(items)
    while batch := list(itertools.islice(source, size)):
        yield batch


def _fetch_span(
    store: Store,
    pack: str,
    members: list[Entry],
    algorithm: str,
    out: _Out,
    on_bytes: Callable[[int], None],
    *,
    atomic: bool,
) -> None:
    start, data = read_span(store, pack, members)
    view = memoryview(data)
    for entry in members:
        verify_bytes(entry, _bytes_of(entry, view, start), algorithm)
    if atomic:
        for entry in members:
            target = out.dest(entry)
            _write_atomic(target, _bytes_of(entry, view, start), out.mode)
            out.done(entry, target)
    else:
        _write_new_files(view, start, members, out)
    on_bytes(sum(entry.size for entry in members))


def _bytes_of(entry: Entry, view: memoryview, start: int) -> memoryview:
    """The bytes of ``entry`` in ``view``, a span of its pack read from offset ``start``."""
    return view[entry.offset - start : entry.offset - start + entry.size]


def _write_new_files(view: memoryview, start: int, members: list[Entry], out: _Out) -> None:
    """Create the verified files of a span (``view`` holds its bytes from pack offset
    ``start``), none of which may exist yet, and link each to its second name if asked.

    NOTE: the C extension's ``write_files`` makes every system call of the span with the GIL
    released once; from Python each call drops and retakes it, and the fetch threads hand
    the GIL around every one of them (decision 46).
    """
    writer = native.function("write_files")
    if writer is None:
        for entry in members:
            target = out.dest(entry)
            _write_new(target, _bytes_of(entry, view, start), out.mode)
            out.done(entry, target)
        return
    targets = [os.fspath(out.dest(entry)) for entry in members]
    names = None if out.link is None else [out.link(entry) for entry in members]
    starts = [entry.offset - start for entry in members]
    errors = writer(view, starts, [e.size for e in members], targets, out.mode, names)
    for entry, error in zip(members, errors or itertools.repeat(0), strict=False):
        out.placed(entry, error)


def _fetch_single(
    store: Store,
    settings: Settings,
    entry: Entry,
    algorithm: str,
    out: _Out,
    on_bytes: Callable[[int], None],
) -> None:
    target = Path(out.dest(entry))
    tmp = _tmp_for(target)
    try:
        # NOTE: the store reports the bytes as they move: a large file's bar moves.
        with progress.transfer(entry.size, on_bytes):
            if entry.url is not None:
                links.download(entry.url, tmp, settings)
            else:
                store.get_file(object_key(entry.hash or ""), tmp)
        verify_file(entry, tmp, algorithm)
        os.chmod(tmp, out.mode)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    out.done(entry, target)


def verify_bytes(entry: Entry, data: bytes | memoryview, algorithm: str) -> None:
    """Raise IntegrityError unless ``data`` is the content ``entry`` promises."""
    if len(data) != entry.size:
        raise _mismatch(entry, f"{len(data)} bytes instead of {entry.size}")
    if entry.hash is not None and hash_bytes(data, algorithm) != entry.hash:
        raise _mismatch(entry, "hash mismatch")


def verify_file(entry: Entry, path: Path, algorithm: str) -> None:
    """Raise IntegrityError unless the file at ``path`` is the content ``entry`` promises."""
    size = path.stat().st_size
    if size != entry.size:
        raise _mismatch(entry, f"{size} bytes instead of {entry.size}")
    if entry.hash is not None and hash_file(path, algorithm) != entry.hash:
        raise _mismatch(entry, "hash mismatch")


def _mismatch(entry: Entry, detail: str) -> IntegrityError:
    return IntegrityError(
        f"content of {entry.path!r} is corrupt in the registry ({detail})",
        path=entry.path,
        expected=entry.hash,
    )


def _tmp_for(target: Path) -> Path:
    return target.with_name(_tmp_name(target.name))


def _tmp_name(name: str) -> str:
    """A unique temporary name beside ``name``: ``.<name>.<12 hex>.tmp``, within 255 bytes.

    NOTE: the suffix adds 18 bytes, so for a name near the file system's 255-byte limit
    (which a dataset path may hold: see dataver.paths.MAX_NAME_BYTES) the copied part of the
    name is cut short; the random part alone keeps it unique.
    """
    keep = name.encode("utf-8", "surrogatepass")[: _MAX_NAME - 18]
    stem = keep.decode("utf-8", "ignore")  # NOTE: never half a character
    return f".{stem}.{uuid.uuid4().hex[:12]}.tmp"


_MAX_NAME = 255


def _write_new(target: str | os.PathLike[str], data: bytes | memoryview, mode: int) -> None:
    # NOTE: a raw fd, not a file object: open() adds an ioctl, an lseek and an fstat per file
    # (a third of the system calls of a small file) and a buffer copy.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        _write_all(fd, memoryview(data))
    finally:
        os.close(fd)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _write_atomic(target: str | os.PathLike[str], data: bytes | memoryview, mode: int) -> None:
    folder, name = os.path.split(os.fspath(target))
    tmp = os.path.join(folder, _tmp_name(name))
    # NOTE: the mode is set at creation (a 0444 file can still be written through the fd
    # that created it): one metadata operation less per file than write + chmod.
    try:
        _write_new(tmp, data, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
