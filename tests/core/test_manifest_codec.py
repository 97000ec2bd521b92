"""The manifest codec: round trips, and hostile shards and roots rejected with FormatError.

Hostile shards are built with the real encoder from entries no honest writer would produce
(the encoder does not validate; the decoder must), and by editing the zstd JSON directly
for the envelope (format version, kind) and for plain garbage.
"""

from __future__ import annotations

import json
import sys

import orjson
import pytest

from dataver.errors import FormatError, IntegrityError
from dataver.manifest import codec
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    compress,
    decode_root,
    decode_shard,
    decompress,
    encode_root,
    encode_shard,
)
from dataver.manifest.entry import Entry
from dataver.paths import MAX_PATH_LENGTH

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

H1, H2, P = "ab" * 32, "0123456789abcdef" * 4, "fe" * 32


def good_entries() -> list[Entry]:
    return [
        Entry("a.txt", 3, H1),
        Entry("b/c.bin", 0, H2, pack=P, offset=0),
        Entry("b/d.bin", 10, H1, pack=P, offset=12345),
        Entry("e/link.csv", 7, None, url="s3://bucket/e/link.csv"),
        Entry("e/linked-with-hash", 7, H2, url="file:///data/x"),
        Entry("f/pending", 5, H2, source="/home/me/data/pending"),
        Entry("ünï/cödé 1.txt", 1 << 40, H1),
    ]


def edit(data: bytes, **changes: object) -> bytes:
    raw = json.loads(zstd.decompress(data))
    for key, value in changes.items():
        if value is _DROP:
            raw.pop(key, None)
        else:
            raw[key] = value
    return zstd.compress(json.dumps(raw).encode())


_DROP = object()


def test_shard_round_trip() -> None:
    entries = good_entries()
    assert decode_shard(encode_shard(entries), "s") == entries


def test_shard_round_trip_of_an_empty_shard() -> None:
    assert decode_shard(encode_shard([]), "s") == []


def test_shard_encoding_is_deterministic_zstd_json() -> None:
    data = encode_shard(good_entries())
    assert data == encode_shard(good_entries())  # content addressing needs stable bytes
    raw = json.loads(zstd.decompress(data))  # readable with standard tools
    assert (raw["format"], raw["kind"]) == (1, "dataver.shard")


HOSTILE_SHARDS: dict[str, list[Entry]] = {
    "dotdot": [Entry("../escape.txt", 1, H1)],
    "dotdot-inside": [Entry("a/../../escape.txt", 1, H1)],
    "dotdot-last": [Entry("a/..", 1, H1)],
    "absolute": [Entry("/etc/passwd", 1, H1)],
    "nul": [Entry("a\x00b", 1, H1)],
    "newline": [Entry("a\nb", 1, H1)],
    "control": [Entry("a\x1bb", 1, H1)],
    "backslash": [Entry("..\\..\\windows", 1, H1)],
    "empty-path": [Entry("", 1, H1)],
    "empty-component": [Entry("a//b", 1, H1)],
    "dot-component": [Entry("./a", 1, H1)],
    "trailing-slash": [Entry("a/", 1, H1)],
    "too-long": [Entry("x" * (MAX_PATH_LENGTH + 1), 1, H1)],
    "path-not-a-string": [Entry(7, 1, H1)],  # type: ignore[arg-type]
    "duplicate-paths": [Entry("a", 1, H1), Entry("a", 1, H1)],
    "duplicate-paths-other-content": [Entry("a", 1, H1), Entry("a", 2, H2)],
    "unsorted-paths": [Entry("b", 1, H1), Entry("a", 1, H1)],
    "unsorted-late": [Entry("a", 1, H1), Entry("c", 1, H1), Entry("b", 1, H1)],
    "negative-size": [Entry("a", -1, H1)],
    "huge-size": [Entry("a", 1 << 62, H1)],
    "max-int64-size": [Entry("a", (1 << 63) - 1, H1)],
    "float-size": [Entry("a", 1.5, H1)],  # type: ignore[arg-type]
    "bool-size": [Entry("a", True, H1)],
    "string-size": [Entry("a", "1", H1)],  # type: ignore[arg-type]
    "null-size": [Entry("a", None, H1)],  # type: ignore[arg-type]
    "short-hash": [Entry("a", 1, "abc123")],
    "long-hash": [Entry("a", 1, H1 + "00")],
    "uppercase-hash": [Entry("a", 1, H1.upper())],
    "non-hex-hash": [Entry("a", 1, "zz" * 32)],
    "int-hash": [Entry("a", 1, 12345)],  # type: ignore[arg-type]
    "neither-hash-nor-url": [Entry("a", 1, None)],
    "bad-pack-name": [Entry("a", 1, H1, pack="../../etc/passwd")],
    "negative-offset": [Entry("a", 1, H1, pack=P, offset=-5)],
    "huge-offset": [Entry("a", 1, H1, pack=P, offset=1 << 62)],
    "url-not-a-string": [Entry("a", 1, H1, url=5)],  # type: ignore[arg-type]
    "source-not-a-string": [Entry("a", 1, H1, source=["x"])],  # type: ignore[arg-type]
    # One bad entry among good ones is enough to refuse the whole shard.
    "bad-among-good": [Entry(f"ok/{i:03d}", i, H1) for i in range(50)]
    + [Entry("ok/zzz/../../../escape", 1, H1)],
}


@pytest.mark.parametrize("entries", HOSTILE_SHARDS.values(), ids=HOSTILE_SHARDS.keys())
def test_hostile_shard_is_rejected(entries: list[Entry]) -> None:
    data = encode_shard(entries)
    with pytest.raises(FormatError, match="manifest shard hostile") as info:
        decode_shard(data, "hostile")
    assert isinstance(info.value, IntegrityError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": 3}, r"has format 3; this dataver reads formats \(1, 2\)"),
        ({"format": 0}, "has format 0"),
        ({"format": "1"}, "has format '1'"),
        ({"format": _DROP}, "has format None"),
        ({"kind": "dataver.manifest"}, "is not a dataver.shard"),
        ({"kind": _DROP}, "is not a dataver.shard"),
    ],
    ids=["format-3", "format-0", "format-string", "no-format", "wrong-kind", "no-kind"],
)
def test_shard_with_unknown_envelope_is_rejected(changes: dict[str, object], message: str) -> None:
    data = edit(encode_shard(good_entries()), **changes)
    with pytest.raises(FormatError, match=message):
        decode_shard(data, "s")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain text, not zstd",
        zstd.compress(b"not json {"),
        zstd.compress(b"[1, 2, 3]"),
        zstd.compress(b'"a string"'),
        zstd.compress(b"null"),
        encode_shard([Entry("a", 1, H1)])[:-6],  # truncated
        encode_shard([Entry("a", 1, H1)]) + b"trailing",
        encode_shard([Entry("a", 1, H1)]) * 2,  # a second frame after the first
    ],
    ids=[
        "empty",
        "not-zstd",
        "not-json",
        "json-list",
        "json-string",
        "json-null",
        "truncated",
        "trailing",
        "two-frames",
    ],
)
def test_garbage_shard_is_rejected(data: bytes) -> None:
    with pytest.raises(FormatError):
        decode_shard(data, "s")


def test_decompression_bomb_is_refused_before_it_fills_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = zstd.compress(b" " * 100_000 + b"{}")  # valid JSON, compresses ~5,000 to 1
    monkeypatch.setattr(codec, "MAX_DECODED", 50_000)
    with pytest.raises(FormatError, match="over 50,000 bytes decompressed"):
        decode_shard(bomb, "s")
    monkeypatch.setattr(codec, "MAX_DECODED", 200_000)
    with pytest.raises(FormatError, match=r"is not a dataver\.shard"):
        decode_shard(bomb, "s")  # under the bound it decodes, and fails on its content


_SHARD = {"hash": H1, "first": "a", "last": "z", "count": 3, "bytes": 30}


def root() -> ManifestRoot:
    shard = ShardRef(hash=H1, first="a", last="z", count=3, bytes=30)
    return ManifestRoot(hash_algorithm="blake3", files=3, bytes=30, shards=(shard,))


def test_root_round_trip() -> None:
    assert decode_root(encode_root(root()), "r") == root()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": 2}, "has format 2; this dataver reads format 1"),
        ({"kind": "dataver.shard"}, "is not a dataver.manifest"),
        ({"files": -1}, "invalid manifest root"),
        ({"files": "many"}, "invalid manifest root"),
        ({"shards": "nope"}, "invalid manifest root"),
        ({"surprise": 1}, "invalid manifest root"),
        ({"hash_algorithm": _DROP}, "invalid manifest root"),
        ({"shards": [{**_SHARD, "hash": "../../../etc/passwd"}]}, "invalid manifest root"),
        ({"shards": [{**_SHARD, "hash": H1.upper()}]}, "invalid manifest root"),
        ({"shards": [{**_SHARD, "count": -3}]}, "invalid manifest root"),
        ({"shards": [{**_SHARD, "surprise": 1}]}, "invalid manifest root"),
    ],
    ids=[
        "format-2",
        "wrong-kind",
        "negative-files",
        "files-type",
        "shards",
        "extra",
        "no-algo",
        "shard-hash-traversal",
        "shard-hash-uppercase",
        "shard-negative-count",
        "shard-extra",
    ],
)
def test_hostile_root_is_rejected(changes: dict[str, object], message: str) -> None:
    data = edit(encode_root(root()), **changes)
    with pytest.raises(FormatError, match=message):
        decode_root(data, "r")


def test_a_format_1_shard_naming_chunks_is_refused() -> None:
    """A chunked entry is only ever written in a format-2 object (older readers must stop)."""
    chunked = Entry("big.bin", 10 << 20, H1, chunks=H1)
    raw = decompress(encode_shard([chunked]), "shard")
    assert raw["format"] == 2
    with pytest.raises(FormatError, match="chunked entries in a format-1 object"):
        decode_shard(compress(orjson.dumps({**raw, "format": 1})), "forged")
    with pytest.raises(FormatError, match="another location"):
        decode_shard(compress(orjson.dumps({**raw, "packs": [H1], "pack": [0]})), "forged")
    assert decode_shard(encode_shard([chunked]), "shard") == [chunked]
