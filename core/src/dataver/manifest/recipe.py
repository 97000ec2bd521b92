"""Chunk lists: how a large file is put together from content-defined chunks.

A chunked file's manifest entry keeps its whole-file hash and size (what diffs, ``verify``
and users see) and, in ``chunks``, the address of its chunk list: a zstd JSON object in
``manifests/``, named by the SHA-256 of its bytes like every manifest object. The list
names each chunk's hash, size and place in a pack; chunks follow each other in file order.
A list of up to :data:`INLINE_CHUNKS` chunks (about 5 GiB at the default size) holds them
itself; a longer one holds parts, each a list object of its own, cut where a chunk's hash
says (so an edit to a huge file rewrites one part, not the whole list).
See docs/storage-format.md, "Chunked files".
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from dataver.errors import FormatError
from dataver.layout import CHUNKED_FORMAT, manifest_key
from dataver.manifest.codec import MAX_SIZE, compress, decompress, digest, readable

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

INLINE_CHUNKS = 4096
"""A chunk list of at most this many chunks holds them itself (no parts)."""
MAX_PART_CHUNKS = 16384
"""Most chunks one part (or an inline list) holds."""
MAX_PARTS = 65536
"""Most parts a list holds: ~10^9 chunks, a petabyte at 1 MiB chunks."""
_PART_CUT = 0xFFF
"""A part ends after a chunk whose hash's first three hex digits are 0: ~4,096 chunks."""
ROOT_KIND = "dataver.chunks"
PART_KIND = "dataver.chunk-part"


class Chunk(NamedTuple):
    """One chunk of a file: its hash, its size, and where it is: bytes
    ``[offset, offset + size)`` of ``packs/<pack>``."""

    hash: str
    size: int
    pack: str
    offset: int


class PartRef(NamedTuple):
    """One part of a long chunk list: its address, chunks, bytes and where it starts."""

    hash: str
    chunks: int
    bytes: int
    start: int


@dataclass(frozen=True)
class Recipe:
    """A file's chunk list, as read from the registry (parts are read when needed)."""

    address: str
    file_hash: str
    file_size: int
    count: int
    inline: tuple[Chunk, ...] | None
    parts: tuple[PartRef, ...]

    def keys(self) -> list[str]:
        """The registry objects of the list itself: its root and its parts."""
        return [manifest_key(self.address), *(manifest_key(p.hash) for p in self.parts)]


def encode(
    file_hash: str, file_size: int, chunks: Sequence[Chunk], chunker: dict[str, Any]
) -> tuple[str, list[tuple[str, bytes]]]:
    """The objects that store a file's chunk list: ``(root address, [(key, bytes), ...])``.

    Args:
        file_hash: The whole file's hash.
        file_size: Its size: the chunks' sizes add up to it.
        chunks: The chunks in file order.
        chunker: How the file was cut (recorded for people; see :mod:`dataver.chunking`).
    """
    body: dict[str, Any] = {
        "format": CHUNKED_FORMAT,
        "kind": ROOT_KIND,
        "file_hash": file_hash,
        "file_size": file_size,
        "count": len(chunks),
        "chunker": chunker,
    }
    objects: list[tuple[str, bytes]] = []
    if len(chunks) <= INLINE_CHUNKS:
        body["chunks"] = _columns(chunks)
    else:
        refs = []
        for part in _cut_parts(chunks):
            data = _compressed({"format": CHUNKED_FORMAT, "kind": PART_KIND, **_columns(part)})
            address = digest(data)
            objects.append((manifest_key(address), data))
            refs.append({"hash": address, "count": len(part), "bytes": sum(c.size for c in part)})
        body["parts"] = refs
    data = _compressed(body)
    address = digest(data)
    return address, [*objects, (manifest_key(address), data)]


def _cut_parts(chunks: Sequence[Chunk]) -> Iterator[Sequence[Chunk]]:
    start = 0
    for at, chunk in enumerate(chunks):
        if at + 1 - start >= MAX_PART_CHUNKS or int(chunk.hash[:3], 16) & _PART_CUT == 0:
            yield chunks[start : at + 1]
            start = at + 1
    if start < len(chunks):
        yield chunks[start:]


def _columns(chunks: Sequence[Chunk]) -> dict[str, Any]:
    packs = list(dict.fromkeys(c.pack for c in chunks))
    index = {pack: i for i, pack in enumerate(packs)}
    return {
        "count": len(chunks),
        "hash": [c.hash for c in chunks],
        "size": [c.size for c in chunks],
        "packs": packs,
        "pack": [index[c.pack] for c in chunks],
        "offset": [c.offset for c in chunks],
    }


def _compressed(body: dict[str, Any]) -> bytes:
    payload = orjson.dumps(body)
    if not readable(payload):  # NOTE: cannot happen within the caps; never write what fails
        raise FormatError("a chunk list would be too large for readers")
    return compress(payload)


def read(store: Store, entry: Entry) -> Recipe:
    """The chunk list of a chunked entry, checked against it.

    Raises:
        FormatError: The list is malformed, or is not the list of this file (its hash or
            size differ from the entry's, or its chunks do not add up to the size).
        ObjectNotFoundError: The list is missing from the registry.
    """
    found = read_address(store, entry.chunks or "", f"of {entry.path!r}")
    if (found.file_hash, found.file_size) != (entry.hash, entry.size):
        raise FormatError(
            f"chunk list {found.address} of {entry.path!r} belongs to another file "
            "(hash or size differ)"
        )
    return found


def read_address(store: Store, address: str, where: str = "") -> Recipe:
    """The chunk list at ``address`` (``where`` says whose, for errors), checked in itself:
    its chunks add up to the size it names.

    Raises:
        FormatError: The list is malformed.
        ObjectNotFoundError: The list is missing from the registry.
    """
    what = f"chunk list {address} {where}".rstrip()
    raw = decompress(store.read(manifest_key(address)), what)
    _check_envelope(raw, ROOT_KIND, what)
    if not _is_hex(raw.get("file_hash")):
        raise FormatError(f"{what}: invalid file_hash")
    size = _int(raw.get("file_size"), what, "file_size")
    count = _int(raw.get("count"), what, "count")
    if "chunks" in raw:
        inline = tuple(_chunks(raw["chunks"], what))
        parts: tuple[PartRef, ...] = ()
        total = sum(c.size for c in inline)
        if len(inline) != count:
            raise FormatError(f"{what}: holds {len(inline)} chunks, says {count}")
    else:
        inline = None
        parts = _parts(raw.get("parts"), what)
        total = sum(p.bytes for p in parts)
        if sum(p.chunks for p in parts) != count:
            raise FormatError(f"{what}: its parts do not hold {count} chunks")
    if total != size:
        raise FormatError(f"{what}: its chunks hold {total:,} bytes, the file {size:,}")
    return Recipe(address, raw["file_hash"], size, count, inline, parts)


def referenced(store: Store, address: str) -> tuple[list[str], set[str]]:
    """What a chunk list keeps alive: the keys of its own objects, and its chunks' packs.

    Raises:
        FormatError: The list or a part of it is malformed.
        ObjectNotFoundError: The list is missing.
    """
    found = read_address(store, address)
    packs = {chunk.pack for _, chunk in chunks(store, found)}
    return found.keys(), packs


def chunks(store: Store, recipe: Recipe) -> Iterator[tuple[int, Chunk]]:
    """Every chunk of the file with the offset where it starts, in order (parts are read
    one at a time)."""
    if recipe.inline is not None:
        yield from _placed(recipe.inline, 0)
        return
    for part in recipe.parts:
        yield from _placed(_read_part(store, recipe, part), part.start)


def between(store: Store, recipe: Recipe, start: int, end: int) -> list[tuple[int, Chunk]]:
    """The chunks holding bytes ``[start, end)`` of the file, with their offsets."""
    out: list[tuple[int, Chunk]] = []
    if end <= start:
        return out
    if recipe.inline is not None:
        groups = [(0, recipe.inline)]
    else:
        starts = [p.start for p in recipe.parts]
        first = max(0, bisect.bisect_right(starts, start) - 1)
        last = bisect.bisect_left(starts, end)
        groups = [(p.start, _read_part(store, recipe, p)) for p in recipe.parts[first:last]]
    for base, members in groups:
        for offset, chunk in _placed(members, base):
            if offset < end and offset + chunk.size > start:
                out.append((offset, chunk))
    return out


def _placed(members: Sequence[Chunk], base: int) -> Iterator[tuple[int, Chunk]]:
    offset = base
    for chunk in members:
        yield offset, chunk
        offset += chunk.size


def _read_part(store: Store, recipe: Recipe, part: PartRef) -> tuple[Chunk, ...]:
    what = f"chunk list part {part.hash} of {recipe.address}"
    raw = decompress(store.read(manifest_key(part.hash)), what)
    _check_envelope(raw, PART_KIND, what)
    members = tuple(_chunks(raw, what))
    if len(members) != part.chunks or sum(c.size for c in members) != part.bytes:
        raise FormatError(f"{what}: not the part its list names (count or bytes differ)")
    return members


def _check_envelope(raw: Any, kind: str, what: str) -> None:
    if not isinstance(raw, dict) or raw.get("kind") != kind:
        raise FormatError(f"{what} is not a {kind} object")
    if raw.get("format") != CHUNKED_FORMAT:
        raise FormatError(f"{what} has format {raw.get('format')!r}, not {CHUNKED_FORMAT}")


def _parts(raw: Any, what: str) -> tuple[PartRef, ...]:
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_PARTS:
        raise FormatError(f"{what}: no valid list of parts")
    out = []
    start = 0
    for item in raw:
        if not isinstance(item, dict) or not _is_hex(item.get("hash")):
            raise FormatError(f"{what}: a part has no valid address")
        count = _int(item.get("count"), what, "part count")
        size = _int(item.get("bytes"), what, "part bytes")
        if not 0 < count <= MAX_PART_CHUNKS:
            raise FormatError(f"{what}: a part holds {count} chunks")
        out.append(PartRef(item["hash"], count, size, start))
        start += size
    return tuple(out)


def _chunks(raw: Any, what: str) -> list[Chunk]:
    if not isinstance(raw, dict):
        raise FormatError(f"{what}: no chunk columns")
    count = _int(raw.get("count"), what, "count")
    if count > MAX_PART_CHUNKS:
        raise FormatError(f"{what}: {count:,} chunks in one list (at most {MAX_PART_CHUNKS:,})")
    hashes, sizes, packs, pack, offsets = _all_columns(raw, count, what)
    if not all(map(_is_hex, hashes)) or not all(map(_is_hex, packs)):
        raise FormatError(f"{what}: a hash is not 64 lowercase hex digits")
    if not all(type(s) is int and 0 < s < MAX_SIZE for s in sizes):
        raise FormatError(f"{what}: invalid chunk size")
    if not all(type(o) is int and 0 <= o < MAX_SIZE for o in offsets):
        raise FormatError(f"{what}: invalid chunk offset")
    if not all(type(i) is int and 0 <= i < len(packs) for i in pack):
        raise FormatError(f"{what}: invalid pack index")
    return [
        Chunk(h, s, packs[i], o) for h, s, i, o in zip(hashes, sizes, pack, offsets, strict=True)
    ]


def _all_columns(raw: dict[str, Any], count: int, what: str) -> tuple[list[Any], ...]:
    packs = raw.get("packs")
    if not isinstance(packs, list) or len(packs) > count:
        raise FormatError(f"{what}: invalid pack table")
    return (
        _list(raw.get("hash"), count, what, "hash"),
        _list(raw.get("size"), count, what, "size"),
        packs,
        _list(raw.get("pack"), count, what, "pack"),
        _list(raw.get("offset"), count, what, "offset"),
    )


def _list(value: Any, count: int, what: str, name: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != count:
        raise FormatError(f"{what}: column {name!r} is not a list of {count}")
    return value


def _int(value: Any, what: str, name: str) -> int:
    if type(value) is not int or not 0 <= value < MAX_SIZE:
        raise FormatError(f"{what}: invalid {name}")
    return value


def _is_hex(value: Any) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


_HEX = re.compile(r"[0-9a-f]{64}")
