"""Reading one stored file by range, on demand: a seekable, read-only file object.

The one home of ranged reads of a file in the registry, for the web page's previews and for
``Dataset.open``. A packed file or a file stored on its own is read straight from its pack
or object (those bytes cannot be checked without reading the whole file). A chunked file
(:mod:`dataver.manifest.recipe`) is read by chunk: a read fetches only the chunks it
touches (neighbours in one pack with one ranged read, as :func:`~dataver.objects.fetch.spans`
groups them), checks each chunk's hash before any byte of it is returned, and keeps the last
few chunks so small sequential reads do not fetch them again.
"""

from __future__ import annotations

import bisect
import io
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from dataver.errors import ValidationError
from dataver.layout import object_key, pack_key
from dataver.manifest import recipe
from dataver.objects.fetch import check_chunk, pack_spans, pieces, read_span

if TYPE_CHECKING:
    from dataver.manifest.entry import Entry
    from dataver.objects.fetch import Piece
    from dataver.storage.base import Store

KEEP_CHUNKS = 4
"""Chunks a :class:`RangeFile` keeps after a read (at most 4 x the largest chunk)."""
_KEEP_RUNS = 2
"""Parts of a long chunk list kept (where each chunk is: up to 16,384 chunks a part)."""
_STEP = 8 << 20
"""Most bytes one read asks for at a time (the rest of a larger read follows)."""


class RangeFile(io.RawIOBase):
    """A seekable, read-only file over one entry's stored bytes, read by range on demand.

    Lets a Parquet reader fetch only the footer and the first row group of a large file.
    Wrap it in :class:`io.BufferedReader` (and :class:`io.TextIOWrapper` for text).

    Args:
        store: The registry store.
        entry: A stored entry (not an external link).
        algorithm: The version's hash algorithm (chunks are checked with it).

    Raises:
        ValidationError: ``entry`` is an external link or has no stored content.
        IntegrityError: (on reads) a chunk's bytes do not match its hash.
    """

    def __init__(self, store: Store, entry: Entry, algorithm: str) -> None:
        super().__init__()
        if entry.url is not None or entry.hash is None:
            raise ValidationError(f"{entry.path} is an external link: not read by range")
        self._store = store
        self._entry = entry
        self._algorithm = algorithm
        self._key = pack_key(entry.pack) if entry.pack else object_key(entry.hash)
        self._base = entry.offset if entry.pack else 0
        self._pos = 0
        self._recipe: recipe.Recipe | None = None
        self._kept: OrderedDict[int, bytes] = OrderedDict()  # NOTE: file offset -> chunk
        self._runs: OrderedDict[int, tuple[list[int], list[Piece]]] = OrderedDict()

    @property
    def name(self) -> str:
        return self._entry.path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._entry.size}[whence]
        self._pos = max(0, start + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view):  # NOTE: in steps: a huge read holds one step, not two copies
            data = self.read_at(self._pos, min(len(view) - done, _STEP))
            if not data:
                break
            view[done : done + len(data)] = data
            done += len(data)
            self._pos += len(data)
        return done

    def readall(self) -> bytes:
        data = self.read_at(self._pos, self._entry.size - self._pos)
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._kept.clear()
        self._runs.clear()
        super().close()

    def read_at(self, start: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``start`` (fewer at the end of the file)."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        length = max(0, min(length, self._entry.size - start))
        if length == 0:
            return b""
        if self._entry.is_chunked:
            return self._read_chunked(start, start + length)
        return self._store.read_range(self._key, self._base + start, length)

    # ------------------------------------------------------------------ chunked files
    def _read_chunked(self, start: int, end: int) -> bytes:
        kept = self._from_kept(start, end)
        if kept is not None:
            return kept
        wanted = self._covering(start, end)
        found = self._load(wanted)
        return b"".join(
            memoryview(found[p.at])[max(start - p.at, 0) : min(end, p.at + p.size) - p.at]
            for p in wanted
        )

    def _list(self) -> recipe.Recipe:
        if self._recipe is None:
            self._recipe = recipe.read(self._store, self._entry)
        return self._recipe

    def _covering(self, start: int, end: int) -> list[Piece]:
        """The chunks holding bytes ``[start, end)``, in order."""
        out: list[Piece] = []
        pos = start
        while pos < end:
            starts, run = self._run_at(pos)
            at = bisect.bisect_right(starts, pos) - 1
            while at < len(run) and run[at].at < end:
                out.append(run[at])
                at += 1
            pos = run[-1].at + run[-1].size
        return out

    def _run_at(self, pos: int) -> tuple[list[int], list[Piece]]:
        """The chunks of the list (or of its part) holding byte ``pos``, with where each
        starts; the last two are kept, so a long list's part is read once, not per read."""
        listed = self._list()
        base, size = 0, listed.file_size
        if listed.inline is None:
            starts = [p.start for p in listed.parts]
            part = listed.parts[bisect.bisect_right(starts, pos) - 1]
            base, size = part.start, part.bytes
        if base not in self._runs:
            run = list(pieces(recipe.between(self._store, listed, base, base + size)))
            self._runs[base] = ([p.at for p in run], run)
            while len(self._runs) > _KEEP_RUNS:
                self._runs.popitem(last=False)
        self._runs.move_to_end(base)
        return self._runs[base]

    def _from_kept(self, start: int, end: int) -> bytes | None:
        """Bytes ``[start, end)`` if the kept chunks hold them all, else None."""
        out: list[memoryview] = []
        pos = start
        while pos < end:
            at = next((a for a, d in self._kept.items() if a <= pos < a + len(d)), None)
            if at is None:
                return None
            data = self._kept[at]
            self._kept.move_to_end(at)
            out.append(memoryview(data)[pos - at : min(end, at + len(data)) - at])
            pos = at + len(data)
        return b"".join(out)

    def _load(self, wanted: list[Piece]) -> dict[int, bytes]:
        """The bytes of each wanted chunk (by file offset): kept ones, the rest fetched in
        as few ranged reads as :func:`~dataver.objects.fetch.spans` makes, each checked."""
        found = {p.at: self._kept[p.at] for p in wanted if p.at in self._kept}
        for pack, run in pack_spans(p for p in wanted if p.at not in found):
            start, data = read_span(self._store, pack, run)
            for piece in run:
                chunk = data[piece.offset - start : piece.offset - start + piece.size]
                check_chunk(self._entry, piece, chunk, self._algorithm)
                found[piece.at] = chunk
        for piece in wanted[-KEEP_CHUNKS:]:
            self._kept[piece.at] = found[piece.at]
            self._kept.move_to_end(piece.at)
        while len(self._kept) > KEEP_CHUNKS:
            self._kept.popitem(last=False)
        return found
