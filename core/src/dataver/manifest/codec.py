"""Encoding of manifest roots and shards: gzip-compressed JSON, validated on the way in."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import zlib
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from dataver.errors import FormatError, UnsafePathError
from dataver.hashing import is_hex_digest
from dataver.layout import FORMAT
from dataver.manifest.entry import Entry
from dataver.paths import validate_path

MAX_SIZE = 1 << 62


class ShardRef(BaseModel):
    """A shard as listed in its root: its address and the paths it covers."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    hash: str
    first: str
    last: str
    count: int
    bytes: int
    pending: int = 0
    links: int = 0


class ManifestRoot(BaseModel):
    """The root object of a manifest: totals and the ordered list of shards."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format: Literal[1] = FORMAT
    kind: Literal["dataver.manifest"] = "dataver.manifest"
    hash_algorithm: str
    files: int
    bytes: int
    pending: int = 0
    links: int = 0
    shards: tuple[ShardRef, ...] = ()


def digest(data: bytes) -> str:
    """Address of a stored manifest object: SHA-256 of its bytes (``sha256sum`` agrees)."""
    return hashlib.sha256(data).hexdigest()


def compress(payload: bytes) -> bytes:
    # NOTE: mtime=0 makes the bytes depend only on the content, as content addressing needs.
    return gzip.compress(payload, compresslevel=3, mtime=0)


def decompress(data: bytes, what: str) -> Any:
    try:
        return orjson.loads(gzip.decompress(data))
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
        raise FormatError(f"corrupt manifest {what}: {exc}") from exc


def encode_root(root: ManifestRoot) -> bytes:
    return compress(orjson.dumps(root.model_dump(mode="json")))


def decode_root(data: bytes, what: str) -> ManifestRoot:
    raw = decompress(data, what)
    _check_format(raw, "dataver.manifest", what)
    try:
        return ManifestRoot.model_validate(raw)
    except PydanticValidationError as exc:
        raise FormatError(f"invalid manifest root {what}: {exc.errors()[0]['msg']}") from exc


def encode_shard(entries: list[Entry]) -> bytes:
    rows = [_row(entry) for entry in entries]
    return compress(orjson.dumps({"format": FORMAT, "kind": "dataver.shard", "entries": rows}))


def _row(entry: Entry) -> dict[str, Any]:
    row: dict[str, Any] = {"path": entry.path, "size": entry.size, "hash": entry.hash}
    if entry.pack is not None:
        row["pack"] = entry.pack
        row["offset"] = entry.offset
    if entry.url is not None:
        row["url"] = entry.url
    if entry.source is not None:
        row["source"] = entry.source
    return row


def decode_shard(data: bytes, what: str) -> list[Entry]:
    """Decode and validate a shard: safe paths, strictly sorted, sane sizes and hashes.

    Raises:
        FormatError: Anything malformed, including unsafe paths (never trusted on read).
    """
    raw = decompress(data, what)
    _check_format(raw, "dataver.shard", what)
    rows = raw.get("entries")
    if not isinstance(rows, list):
        raise FormatError(f"manifest shard {what} has no entry list")
    entries = [_entry(row, what) for row in rows]
    for before, after in itertools.pairwise(entries):
        if before.path >= after.path:
            raise FormatError(
                f"manifest shard {what}: paths not strictly sorted or duplicated at {after.path!r}"
            )
    return entries


def _entry(row: Any, what: str) -> Entry:
    try:
        path, size, hash_ = row["path"], row["size"], row["hash"]
        pack, offset = row.get("pack"), row.get("offset", 0)
        url, source = row.get("url"), row.get("source")
    except (TypeError, KeyError) as exc:
        raise FormatError(f"manifest shard {what}: malformed entry {row!r}") from exc
    try:
        validate_path(path)
    except UnsafePathError as exc:
        raise FormatError(f"manifest shard {what}: {exc}", path=path) from exc
    ok = (
        type(size) is int
        and 0 <= size < MAX_SIZE
        and (hash_ is None or (isinstance(hash_, str) and is_hex_digest(hash_)))
        and (pack is None or (isinstance(pack, str) and is_hex_digest(pack)))
        and type(offset) is int
        and 0 <= offset < MAX_SIZE
        and (url is None or isinstance(url, str))
        and (source is None or isinstance(source, str))
        and (hash_ is not None or url is not None)
    )
    if not ok:
        raise FormatError(f"manifest shard {what}: invalid entry for {path!r}", path=path)
    return Entry(path, size, hash_, pack, offset, url, source)


def _check_format(raw: Any, kind: str, what: str) -> None:
    if not isinstance(raw, dict) or raw.get("kind") != kind:
        raise FormatError(f"{what} is not a {kind} object")
    if raw.get("format") != FORMAT:
        raise FormatError(
            f"{what} has format {raw.get('format')!r}; this dataver reads format {FORMAT}",
            format=raw.get("format"),
        )
