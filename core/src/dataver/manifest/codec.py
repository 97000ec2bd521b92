"""Encoding of manifest roots and shards: zstd-compressed JSON, validated on the way in."""

from __future__ import annotations

import hashlib
import operator
import sys
import threading
from itertools import repeat
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from dataver.errors import FormatError, UnsafePathError, ValidationError
from dataver.gcpause import paused_gc
from dataver.layout import CHUNKED_FORMAT, FORMAT, READABLE_FORMATS
from dataver.manifest.entry import Entry
from dataver.paths import MAX_PATH_LENGTH, validate_paths

if TYPE_CHECKING:
    from collections.abc import Sequence

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

MAX_SIZE = 1 << 62
MAX_SHARD_ENTRIES = 16384
"""Most entries a shard holds: the writer cuts there at the latest, and a root that says a
shard holds more is refused."""
MAX_CHANGES = 4096
"""Most entries plus removed paths in a staged change set (``staged.MAX_STAGED``: larger sets
are applied to the manifest at once; a test keeps the two equal)."""
MAX_ROOT_SHARDS = 16384
"""Most shards a manifest root lists: about 67 million files at the average of 4,096 entries
a shard. A root of that many shards decodes in ~31 MiB; the writer refuses to go beyond."""
MAX_URL_LENGTH = 8192
"""Longest external link URL, in characters (object names on S3, GCS and Azure are at most
1,024 bytes; the rest leaves room for long HTTP URLs). Checked on write and on read."""
MAX_SOURCE_LENGTH = 8192
"""Longest local source path of a pending entry, in characters (twice Linux's PATH_MAX).
Checked on write and on read."""

_HEADER = 1024
"""Bytes allowed for a shard's envelope: ``format``, ``kind``, ``count``, column names."""
ENTRY_CEILING = (
    (4 * MAX_PATH_LENGTH + 3)  # path: <= 4 UTF-8 bytes a character, quotes, comma
    + 20  # size < 2**62: 19 digits, comma
    + 67  # hash: 64 hex digits, quotes, comma
    + 6  # pack index: -1 .. 16383, comma
    + 67  # its row in the ``packs`` table, if every entry has its own pack
    + 20  # offset
    + (6 * MAX_URL_LENGTH + 3)  # url: any character, escaped as \u00XX at worst
    + (6 * MAX_SOURCE_LENGTH + 3)  # source
    + 67  # chunks: the address of the file's chunk list
)
"""Most bytes one entry can take in a shard's JSON as dataver writes it (orjson, compact):
~112 KiB. Paths are validated (no control character or backslash), so only ``"`` is
escaped in them and a character is at most 4 bytes."""
MAX_DECODED = 16 << 20
"""Largest decompressed manifest object accepted (root, shard or change set): 16 MiB.

A shard is also refused past ``1 KiB + count x ENTRY_CEILING`` for the ``count`` its root
gives (see :func:`shard_limit`), and any object whose parse would cost over
:data:`PARSE_BUDGET`. The bound is enforced while decompressing, so a bomb is stopped after
at most this many bytes. Since the writer ends a shard once its entries pass
:data:`SHARD_BYTES` (4 MiB) and checks every object with :func:`readable`, nothing it writes
is refused; a shard written before is refused only if it passes one of the two limits
(16,384 entries of ASCII paths over ~930 characters, of CJK paths over ~200; see
docs/storage-format.md).
"""
SHARD_BYTES = 4 << 20
"""The writer ends a shard once its entries' JSON passes about this (4 MiB, estimated from
their UTF-8 strings plus 128 bytes each), even between content-defined cuts: 4,096 typical
entries take ~0.5 MiB, so only shards of long paths are cut by it."""
PARSE_BUDGET = 40 << 20
"""Most memory the parse of one manifest object may take, as estimated by
:func:`parse_cost` before parsing: a small document can still parse into many small Python
objects (``[[],[],...]``: ~30 bytes of objects per byte of JSON)."""
_VALUE_COST = 96
"""Upper bound, in bytes, of what one JSON value costs once parsed: the parser's node (16),
the Python object (an empty list or dict: 72 with its GC header) and its slot in the list or
dict holding it (measured: 91 for ``[],``, 93 for ``"ab",``)."""
_SMALL = PARSE_BUDGET // 40
"""Payloads up to this size (1 MiB) cannot parse into more than the budget (~30 bytes a
byte at worst, the parser's copy included), so :func:`parse_cost` does not scan them."""
_CHUNK = 256 << 10
"""Decompressed bytes produced per step: a bomb stops within one chunk of its bound."""
_DECODER_OPTIONS: dict[int, int] = {zstd.DecompressionParameter.window_log_max: 22}
"""The decoder's window, which it fills as it inflates, is at most 4 MiB (zstd's default
allows 128 MiB). dataver compresses at level 1, whose frames need 512 KiB (window log 19);
a frame asking for more is refused at its header."""
ZSTD_LEVEL = 1
"""zstd level 1: hashes are incompressible, and higher levels saved ~1% of size at 4x the time
(measured on 4,096-entry shards: 0.6 ms at level 1 against 5-6 ms for gzip level 1, and 13%
smaller)."""


Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ShardRef(BaseModel):
    """A shard as listed in its root: its address and the paths it covers."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    hash: Digest
    first: str
    last: str
    count: Annotated[int, Field(ge=0, le=MAX_SHARD_ENTRIES)]
    bytes: NonNegativeInt
    pending: NonNegativeInt = 0
    links: NonNegativeInt = 0


class ManifestRoot(BaseModel):
    """The root object of a manifest: totals and the ordered list of shards."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    format: Literal[1] = FORMAT
    kind: Literal["dataver.manifest"] = "dataver.manifest"
    hash_algorithm: str
    files: NonNegativeInt
    bytes: NonNegativeInt
    pending: NonNegativeInt = 0
    links: NonNegativeInt = 0
    shards: tuple[ShardRef, ...] = ()


def digest(data: bytes) -> str:
    """Address of a stored manifest object: SHA-256 of its bytes (``sha256sum`` agrees)."""
    return hashlib.sha256(data).hexdigest()


def compress(payload: bytes) -> bytes:
    """Compress a manifest object's JSON; the same bytes in give the same bytes out.

    NOTE: content addressing needs determinism; zstd is deterministic for a given level and
    library version (another version may address the same content differently, which only
    costs a shard that could have been shared).
    """
    return zstd.compress(payload, level=ZSTD_LEVEL)


def shard_limit(count: int) -> int:
    """Most bytes a shard of ``count`` entries can decompress to: its envelope plus ``count``
    times :data:`ENTRY_CEILING`, and never over :data:`MAX_DECODED`."""
    return min(MAX_DECODED, _HEADER + max(count, 0) * ENTRY_CEILING)


def decompress(data: bytes, what: str, limit: int = MAX_DECODED) -> Any:
    """Decompress and parse a manifest object, refusing corrupt or oversized ones.

    Decompression is streamed and stops as soon as the output passes ``limit``, so a bomb
    costs at most ``limit`` bytes; the parse is refused when :func:`parse_cost` says it
    would take more than :data:`PARSE_BUDGET`.

    Raises:
        FormatError: Not a complete zstd frame of JSON, larger than ``limit`` (at most
            :data:`MAX_DECODED`), or too costly to parse.
    """
    return _decompress_measured(data, what, limit)[0]


_DECODING = threading.Lock()
"""Held while a manifest object is decoded, so a process decodes one at a time.

NOTE: the bounds above hold per object; without this, threads reading at once (the web
app's request threads, a program reading versions in parallel) could each hold a hostile
object at its bound. Decoding holds the GIL nearly throughout (orjson, validation), so this
costs little parallelism; reads from the store, the slow part, still overlap.
"""


def _decompress_measured(data: bytes, what: str, limit: int) -> tuple[Any, int]:
    try:
        payload = _inflate(data, what, min(limit, MAX_DECODED))
        cost = parse_cost(payload)
        if cost > PARSE_BUDGET:
            raise FormatError(
                f"manifest {what} is refused: parsing it would take about {cost >> 20} MiB, "
                f"more than any manifest object needs ({PARSE_BUDGET >> 20} MiB)"
            )
        return orjson.loads(payload), len(payload)
    except (zstd.ZstdError, orjson.JSONDecodeError) as exc:
        raise FormatError(f"corrupt manifest {what}: {exc}") from exc


def _inflate(data: bytes, what: str, limit: int) -> bytes | bytearray:
    """The one zstd frame in ``data``, decompressed a chunk at a time up to ``limit`` bytes.

    NOTE: one call with ``max_length=limit`` would fill its output blocks, then copy them
    into one object (twice the bytes); appending chunks to a bytearray keeps the peak near
    the output's size, and nothing past ``limit + 1`` bytes is ever produced.
    """
    declared = zstd.get_frame_info(data).decompressed_size
    if declared is not None and declared > limit:  # NOTE: refused before inflating a byte
        raise _oversized(what, limit)
    decoder = zstd.ZstdDecompressor(options=_DECODER_OPTIONS)
    out: bytes | bytearray = decoder.decompress(data, max_length=min(_CHUNK, limit + 1))
    while not decoder.eof and len(out) <= limit:
        if decoder.needs_input:  # NOTE: all of ``data`` was given: the frame is cut short
            raise FormatError(f"corrupt manifest {what}: truncated")
        if isinstance(out, bytes):
            out = bytearray(out)
        out += decoder.decompress(b"", max_length=min(_CHUNK, limit + 1 - len(out)))
    if len(out) > limit:
        raise _oversized(what, limit)
    if decoder.unused_data:
        raise FormatError(f"corrupt manifest {what}: bytes after its end")
    return out


def _oversized(what: str, limit: int) -> FormatError:
    return FormatError(
        f"manifest {what} is refused: over {limit:,} bytes decompressed, more than it can "
        "hold (a decompression bomb?)"
    )


def parse_cost(payload: bytes | bytearray) -> int:
    """An upper bound of the memory that parsing ``payload`` takes, in bytes.

    Every JSON value needs at least one separator (``,`` ``:`` ``[`` ``{``), so the count of
    those bytes, wherever they are, bounds the number of values; each costs at most
    :data:`_VALUE_COST`. The document costs its size again (the parser's copy), and its
    strings at most as much once more: twice as much when a non-ASCII character makes a
    Python string 2 bytes a character, 4 times when one outside the BMP makes it 4.

    A dataver shard has about 8 separators an entry: 16,384 entries take ~12 MiB of values.
    """
    size = len(payload)
    if size <= _SMALL:
        return size * 40
    values = 1 + sum(map(payload.count, (b",", b":", b"[", b"{")))
    return (1 + _widening(payload)) * size + _VALUE_COST * values


def _widening(payload: bytes | bytearray) -> int:
    """At most how many bytes a character of ``payload`` takes in a Python string, per byte."""
    if b"\\u" in payload:  # NOTE: an escape can name any character
        return 4
    if payload.isascii():
        return 1
    # NOTE: only a 4-byte UTF-8 sequence (lead byte F0-F4) is outside the BMP; each of these
    # scans is a memchr.
    return 4 if any(lead in payload for lead in _ASTRAL) else 2


_ASTRAL = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def readable(payload: bytes | bytearray) -> bool:
    """Whether a reader accepts a manifest object of this (uncompressed) JSON: the writer
    checks every object it stores with this, so nothing it writes is refused."""
    return len(payload) <= MAX_DECODED and parse_cost(payload) <= PARSE_BUDGET


def encode_root(root: ManifestRoot) -> bytes:
    """Encode a manifest root.

    Raises:
        ValidationError: The root lists more than :data:`MAX_ROOT_SHARDS` shards, or is too
            large for readers to accept (a version of too many files, or of very long paths).
    """
    if len(root.shards) > MAX_ROOT_SHARDS:
        raise ValidationError(
            f"a version holds at most {MAX_ROOT_SHARDS:,} manifest shards (about "
            f"{MAX_ROOT_SHARDS * 4096 // 1_000_000:,} million files); this one needs "
            f"{len(root.shards):,}",
            shards=len(root.shards),
        )
    payload = orjson.dumps(root.model_dump(mode="json"))
    if not readable(payload):
        raise ValidationError(
            f"the manifest root of this version would take {len(payload):,} bytes, more "
            "than readers accept: too many files with long paths for one version",
            shards=len(root.shards),
        )
    return compress(payload)


def decode_root(data: bytes, what: str) -> ManifestRoot:
    """Decode and validate a manifest root (at most :data:`MAX_ROOT_SHARDS` shards).

    Raises:
        FormatError: Anything malformed, oversized, or listing shards out of order.
    """
    with _DECODING:
        return _decode_root(data, what)


def _decode_root(data: bytes, what: str) -> ManifestRoot:
    raw = decompress(data, what)
    _check_format(raw, "dataver.manifest", what, (FORMAT,))
    shards = raw.get("shards")
    if isinstance(shards, list) and len(shards) > MAX_ROOT_SHARDS:
        raise FormatError(
            f"manifest root {what} lists {len(shards):,} shards; at most {MAX_ROOT_SHARDS:,} "
            "are accepted"
        )
    try:
        root = ManifestRoot.model_validate(raw)
    except PydanticValidationError as exc:
        raise FormatError(f"invalid manifest root {what}: {exc.errors()[0]['msg']}") from exc
    _check_shard_order(root, what)
    return root


def _check_shard_order(root: ManifestRoot, what: str) -> None:
    """Shards must cover disjoint, increasing path ranges and add up to the root's counts.

    NOTE: each shard is validated alone (sorted, unique paths); without this, two shards
    could hold the same path and a get would materialise it twice.
    """
    previous: str | None = None
    for shard in root.shards:
        if shard.first > shard.last or (previous is not None and shard.first <= previous):
            raise FormatError(
                f"manifest root {what}: shards overlap or are out of order at {shard.first!r}"
            )
        previous = shard.last
    if sum(s.count for s in root.shards) != root.files:
        raise FormatError(f"manifest root {what}: its shards do not hold {root.files} files")


_COLUMNS = ("path", "size", "hash", "pack", "offset", "url", "source", "chunks")
_OPTIONAL = frozenset({"pack", "offset", "url", "source", "chunks"})


def encode_shard(entries: list[Entry]) -> bytes:
    """Encode entries as a columnar shard: one list per field, optional fields omitted.

    Pack names repeat for thousands of entries, so they are stored once in ``packs`` and
    referenced by index (``-1``: not packed).

    Raises:
        ValidationError: A url or source longer than :data:`MAX_URL_LENGTH` or
            :data:`MAX_SOURCE_LENGTH`.
    """
    return compress(shard_payload(entries))


def shard_payload(entries: list[Entry]) -> bytes:
    """The JSON of :func:`encode_shard`, before compression (see :func:`readable`)."""
    return orjson.dumps(_columns(entries, "dataver.shard"))


def encode_changes(entries: list[Entry], removed: list[str]) -> bytes:
    """Encode the staged changes of an Uploading version: a shard's columns plus ``removed``.

    Args:
        entries: New or replaced entries, in strictly increasing path order.
        removed: Removed paths, sorted, none of them among ``entries``.

    Raises:
        ValidationError: A url or source longer than its limit.
    """
    return compress(changes_payload(entries, removed))


def changes_payload(entries: list[Entry], removed: list[str]) -> bytes:
    """The JSON of :func:`encode_changes`, before compression (see :func:`readable`)."""
    body = _columns(entries, "dataver.changes")
    body["removed"] = removed
    return orjson.dumps(body)


def _columns(entries: list[Entry], kind: str) -> dict[str, Any]:
    body: dict[str, Any] = {"format": FORMAT, "kind": kind, "count": len(entries)}
    if entries and any(map(_chunks_of, entries)):
        # NOTE: a dataver that does not know chunks refuses the object, rather than look for
        # the file as one object and report it missing.
        body["format"] = CHUNKED_FORMAT
    # NOTE: zip(*entries) transposes in C; orjson writes the tuples as JSON arrays.
    columns = zip(*entries, strict=True) if entries else ((),) * len(_COLUMNS)
    for name, column in zip(_COLUMNS, columns, strict=True):
        if name in _OPTIONAL and not any(column):
            continue
        if name in _LIMITS and _too_long(column, _LIMITS[name]):
            at = next(i for i, v in enumerate(column) if len(v or "") > _LIMITS[name])
            raise ValidationError(
                f"the {name} of {entries[at].path!r} is longer than {_LIMITS[name]:,} characters",
                path=entries[at].path,
            )
        if name == "pack":
            table = [p for p in dict.fromkeys(column) if p is not None]
            position: dict[str | None, int] = {pack: i for i, pack in enumerate(table)}
            position[None] = -1
            body["packs"] = table
            column = tuple(map(position.__getitem__, column))
        body[name] = column
    return body


_LIMITS = {"url": MAX_URL_LENGTH, "source": MAX_SOURCE_LENGTH}


def _too_long(column: Any, limit: int) -> bool:
    """Whether a url or source column holds a string over ``limit`` characters.

    Values other than strings and None are left to the decoder (tests forge them).
    """
    try:
        # NOTE: filter(None, ...) and map(len, ...) run in C: one pass, no list.
        return max(map(len, filter(None, column)), default=0) > limit
    except TypeError:
        return False


def decode_shard(data: bytes, what: str, count: int | None = None) -> list[Entry]:
    """Decode and validate a shard: safe paths, strictly sorted, sane sizes and hashes.

    Args:
        data: The stored (compressed) shard.
        what: Its name, for errors.
        count: The entries its root says it holds: it is refused as soon as it decompresses
            past :func:`shard_limit` of that (default: :data:`MAX_DECODED`).

    Raises:
        FormatError: Anything malformed, including unsafe paths (never trusted on read), or
            larger than its count allows.
    """
    return decode_shard_measured(data, what, count)[0]


def decode_shard_measured(
    data: bytes, what: str, count: int | None = None, *, trusted: bool = False
) -> tuple[list[Entry], int]:
    """:func:`decode_shard`, and the size of the shard's JSON (what it weighs in a cache).

    Args:
        data: The stored (compressed) shard.
        what: Its name, for errors.
        count: As :func:`decode_shard`.
        trusted: The caller knows these very bytes pass the checks (by their hash; see
            ``dataver.manifest.reader.TrustedShards``): the columns' values (paths, sizes,
            offsets, hashes) are not checked. The bounds and the structure always are.
    """
    limit = MAX_DECODED if count is None else shard_limit(count)
    # NOTE: a shard's entries cannot form cycles (see dataver.gcpause).
    with _DECODING, paused_gc():
        raw, size = _decompress_measured(data, what, limit)
        return _entries(raw, "dataver.shard", what, trusted=trusted), size


def decode_changes(data: bytes, what: str) -> tuple[list[Entry], list[str]]:
    """Decode and validate staged changes: entries as in a shard, and removed paths.

    Raises:
        FormatError: Anything malformed, or a path both set and removed.
    """
    with _DECODING, paused_gc():
        raw = decompress(data, what, shard_limit(MAX_CHANGES))
        entries = _entries(raw, "dataver.changes", what)
        removed = raw.get("removed")
        if not isinstance(removed, list):
            raise FormatError(f"manifest changes {what} lack the 'removed' list")
        if len(entries) + len(removed) > MAX_CHANGES:
            raise FormatError(
                f"manifest changes {what} hold {len(entries) + len(removed):,} paths; staged "
                f"changes hold at most {MAX_CHANGES:,}"
            )
        _check_paths(removed, what)
        if not {e.path for e in entries}.isdisjoint(removed):
            raise FormatError(f"manifest changes {what}: a path is both set and removed")
        return entries, removed


def _entries(raw: Any, kind: str, what: str, *, trusted: bool = False) -> list[Entry]:
    _check_format(raw, kind, what)
    count = raw.get("count")
    if type(count) is not int or not 0 <= count <= MAX_SHARD_ENTRIES:
        raise FormatError(f"manifest shard {what} has no valid entry count")
    columns = [_column(raw, name, count, what) for name in _COLUMNS]
    paths, sizes, hashes, packs, offsets, urls, sources, chunks = columns
    stored_offsets = offsets if raw.get("offset") is not None else None
    if not trusted:
        _check_columns(paths, sizes, stored_offsets, hashes, what)
    if stored_offsets is None:
        offsets = [0] * count
    if raw.get("pack") is not None:
        packs = _resolve_packs(raw.get("packs"), packs, what)
    for column, name in ((urls, "url"), (sources, "source")):
        if column.count(None) != count and (
            not _only(column, str) or _too_long(column, _LIMITS[name])
        ):
            raise FormatError(f"manifest shard {what}: invalid {name}")
    if None in hashes and any(h is None and u is None for h, u in zip(hashes, urls, strict=True)):
        raise FormatError(f"manifest shard {what}: an entry has neither hash nor url")
    if chunks.count(None) != count:
        _check_chunked(raw, chunks, (hashes, packs, urls, sources), what)
    # NOTE: map(tuple.__new__, ...) builds the named tuples in C, without a Python-level
    # loop: 5x faster than calling Entry(...).
    rows = zip(paths, sizes, hashes, packs, offsets, urls, sources, chunks, strict=True)
    return list(map(tuple.__new__, repeat(Entry, count), rows))


def _check_columns(
    paths: list[Any], sizes: list[Any], offsets: list[Any] | None, hashes: list[Any], what: str
) -> None:
    """Safe, strictly sorted paths; sizes and offsets in range; hashes lowercase hex digests.

    NOTE: ~4 ms for 10,000 entries, most of a shard's decoding after the parse: the reader
    skips it for a shard known to pass (``trusted``; see dataver.manifest.reader).
    """
    _check_paths(paths, what)
    _check_ints(sizes, what, "size")
    if offsets is not None:
        _check_ints(offsets, what, "offset")
    _check_hex(hashes, what, "hash")


def _resolve_packs(table: Any, indexes: list[Any], what: str) -> list[str | None]:
    if not isinstance(table, list):
        raise FormatError(f"manifest shard {what}: missing pack table")
    _check_hex(table, what, "pack")
    if not _only(indexes, int, allow_none=False) or (
        indexes and (min(indexes) < -1 or max(indexes) >= len(table))
    ):
        raise FormatError(f"manifest shard {what}: invalid pack index")
    lookup: list[str | None] = [*table, None]  # index -1 -> None
    return list(map(lookup.__getitem__, indexes))


def _check_chunked(
    raw: dict[str, Any], chunks: list[Any], others: tuple[list[Any], ...], what: str
) -> None:
    """A chunked entry has a hash and a chunk list, and no other location."""
    if raw.get("format") != CHUNKED_FORMAT:
        raise FormatError(f"manifest shard {what}: chunked entries in a format-1 object")
    _check_hex(chunks, what, "chunks")
    hashes, packs, urls, sources = others
    for at, ref in enumerate(chunks):
        if ref is not None and (
            hashes[at] is None or packs[at] is not None or urls[at] or sources[at]
        ):
            raise FormatError(f"manifest shard {what}: a chunked entry has another location")


_chunks_of = operator.itemgetter(7)


def _only(values: Sequence[Any], kind: type, *, allow_none: bool = True) -> bool:
    kinds = set(map(type, values))
    if allow_none:
        kinds.discard(type(None))
    return kinds <= {kind}


def _column(raw: dict[str, Any], name: str, count: int, what: str) -> list[Any]:
    column = raw.get(name)
    if column is None:
        if name in _OPTIONAL:
            return [None] * count
        raise FormatError(f"manifest shard {what} lacks the {name!r} column")
    if not isinstance(column, list) or len(column) != count:
        raise FormatError(f"manifest shard {what}: column {name!r} is not a list of {count}")
    return column


def _check_paths(paths: list[Any], what: str) -> None:
    if not _only(paths, str, allow_none=False):
        raise FormatError(f"manifest shard {what}: a path is not a string")
    try:
        # NOTE: in slices: validate_paths joins its paths (three copies), and 16,384 paths
        # of 4,096 characters would make that 3 x 256 MiB.
        for start in range(0, len(paths), _PATHS_AT_ONCE):
            validate_paths(paths[start : start + _PATHS_AT_ONCE])
    except UnsafePathError as exc:
        raise FormatError(f"manifest shard {what}: {exc}", path=exc.fields.get("path")) from exc
    if paths != sorted(paths) or len(set(paths)) != len(paths):
        raise FormatError(f"manifest shard {what}: paths are not strictly sorted, or repeat")


_PATHS_AT_ONCE = 256


def _check_ints(values: Sequence[Any], what: str, name: str) -> None:
    if not values:
        return
    if not _only(values, int, allow_none=False) or min(values) < 0 or max(values) >= MAX_SIZE:
        raise FormatError(f"manifest shard {what}: invalid {name}")


def _check_hex(values: Sequence[Any], what: str, name: str) -> None:
    present = values if None not in values else [v for v in values if v is not None]
    if not present:
        return
    if not _only(present, str) or set(map(len, present)) != {64}:
        raise FormatError(f"manifest shard {what}: invalid {name}")
    joined = "".join(present)
    # NOTE: fromhex() rejects anything but hex digits and whitespace, and whitespace shows as
    # a short result; six substring scans rule out uppercase. All of it runs in C.
    try:
        ok = len(bytes.fromhex(joined)) * 2 == len(joined)
    except ValueError:
        ok = False
    if not ok or any(upper in joined for upper in "ABCDEF"):
        raise FormatError(f"manifest shard {what}: invalid {name} (not lowercase hex)")


def _check_format(
    raw: Any, kind: str, what: str, formats: tuple[int, ...] = READABLE_FORMATS
) -> None:
    if not isinstance(raw, dict) or raw.get("kind") != kind:
        raise FormatError(f"{what} is not a {kind} object")
    if raw.get("format") not in formats:
        known = f"format {formats[0]}" if len(formats) == 1 else f"formats {formats}"
        raise FormatError(
            f"{what} has format {raw.get('format')!r}; this dataver reads {known} "
            "(a newer dataver wrote it?)",
            format=raw.get("format"),
        )
