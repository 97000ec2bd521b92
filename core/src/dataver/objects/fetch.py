"""Fetching content from the registry into local files, verified before anyone sees it.

Files that sit close together in one pack are read with one ranged read and split, so a
version of 10,000 small files costs a few reads, not 10,000. Every file is hashed and
compared with its manifest entry before it is renamed into place.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec

from dataver import progress
from dataver.errors import IntegrityError, NotFoundError
from dataver.hashing import hash_bytes, hash_file
from dataver.layout import object_key, pack_key
from dataver.workers import stopping_pool

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataver.manifest.entry import Entry
    from dataver.settings import Settings
    from dataver.storage.base import Store

# NOTE: reading a gap of up to this many unused bytes is cheaper than another request.
_COALESCE_GAP = 1 << 20
# NOTE: small enough that a pack of small files splits into several jobs that write their
# files in parallel, large enough that a job is one request.
_MAX_SPAN = 8 << 20


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
) -> None:
    """Write the bytes of each entry to ``dest(entry)``, verified, atomically.

    Files are created with ``mode`` (the cache passes 0444: read-only blobs). With
    ``atomic=False`` packed files are written in place (for a private folder published as a
    whole); they are still verified before they are written.

    Raises:
        IntegrityError: Stored bytes do not match the manifest's size or hash.
        ObjectNotFoundError: Content is missing from the registry.
    """
    by_pack: dict[str, list[Entry]] = defaultdict(list)
    singles: list[Entry] = []
    for entry in entries:
        if entry.pack is not None:
            by_pack[entry.pack].append(entry)
        else:
            singles.append(entry)
    jobs: list[Callable[[Callable[[int], None]], None]] = [
        functools.partial(_fetch_span, store, settings, pack, span, algorithm, dest, mode, atomic)
        for pack, members in by_pack.items()
        for span in spans(sorted(members, key=lambda e: e.offset))
    ]
    jobs.extend(
        functools.partial(_fetch_single, store, settings, e, algorithm, dest, mode) for e in singles
    )
    with (
        progress.task("download", sum(e.size for e in entries)) as advance,
        stopping_pool(settings.max_workers, "dataver-fetch") as pool,
    ):
        report = progress.chain(on_bytes, advance)
        for future in [pool.submit(job, report) for job in jobs]:
            future.result()


def spans(members: list[Entry]) -> list[list[Entry]]:
    """Group entries of one pack, sorted by offset, into runs worth one ranged read each."""
    out: list[list[Entry]] = []
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


def _fetch_span(
    store: Store,
    settings: Settings,
    pack: str,
    members: list[Entry],
    algorithm: str,
    dest: Callable[[Entry], str | os.PathLike[str]],
    mode: int,
    atomic: bool,
    on_bytes: Callable[[int], None],
) -> None:
    start = members[0].offset
    length = max(e.offset + e.size for e in members) - start
    data = store.read_range(pack_key(pack), start, length)
    for entry in members:
        chunk = data[entry.offset - start : entry.offset - start + entry.size]
        verify_bytes(entry, chunk, algorithm)
        if atomic:
            _write_atomic(dest(entry), chunk, mode)
        else:
            _write_new(dest(entry), chunk, mode)
        on_bytes(entry.size)


def _fetch_single(
    store: Store,
    settings: Settings,
    entry: Entry,
    algorithm: str,
    dest: Callable[[Entry], str | os.PathLike[str]],
    mode: int,
    on_bytes: Callable[[int], None],
) -> None:
    target = Path(dest(entry))
    tmp = _tmp_for(target)
    try:
        # NOTE: the store reports the bytes as they move: a large file's bar moves.
        with progress.transfer(entry.size, on_bytes):
            if entry.url is not None:
                _download_link(entry.url, tmp)
            else:
                store.get_file(object_key(entry.hash or ""), tmp)
        verify_file(entry, tmp, algorithm)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


_CHUNK = 1 << 20


def _download_link(url: str, target: Path) -> None:
    """Stream an external file into ``target``, reporting each chunk as it arrives."""
    report = progress.transfer_callback()
    try:
        with fsspec.open(url, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                if report is not None:
                    report(len(chunk))
    except FileNotFoundError as exc:
        raise NotFoundError(f"external file {url} no longer exists", url=url) from exc


def verify_bytes(entry: Entry, data: bytes, algorithm: str) -> None:
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


def _write_new(target: str | os.PathLike[str], data: bytes, mode: int) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with open(fd, "wb", closefd=True) as handle:
        handle.write(data)


def _write_atomic(target: str | os.PathLike[str], data: bytes, mode: int) -> None:
    folder, name = os.path.split(os.fspath(target))
    tmp = os.path.join(folder, _tmp_name(name))
    # NOTE: the mode is set at creation (a 0444 file can still be written through the fd
    # that created it): one metadata operation less per file than write + chmod.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with open(fd, "wb", closefd=True) as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
