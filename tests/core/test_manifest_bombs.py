"""Manifest objects that cost far more memory to read than to store are refused cheaply.

Whoever can write to the bucket can store a 32 KiB zstd frame that inflates to 1 GiB of
whitespace, or a few KiB of JSON that parse into hundreds of MiB of Python objects, and
name it from a forged root. Every reader (the SDK, ``fsck``, the web API) must refuse such
an object with ``FormatError`` while the reading process grows by less than 64 MiB,
whatever entry count the root claims, and every manifest dataver itself writes must still
be read.

Memory is measured in a fresh process: its peak RSS (``VmHWM``) is reset just before the
read (``/proc/self/clear_refs``), so the figure is what the read cost, not the imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import orjson
import pytest

import dataver
from dataver import FormatError, ValidationError
from dataver.layout import manifest_key, record_key
from dataver.manifest import codec, reader, staged
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    compress,
    digest,
    encode_root,
    encode_shard,
)
from dataver.manifest.entry import Entry
from dataver.manifest.writer import write_manifest
from dataver.paths import MAX_PATH_LENGTH
from dataver.storage.local import LocalStore

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Finalized = Callable[..., dataver.Dataset]

MiB = 1 << 20
RSS_BOUND = 64 * MiB
"""The promise: reading any hostile manifest object grows a process by less than this."""
H = "ab" * 32


# --------------------------------------------------------------------------- building bombs


def whitespace_bomb(mib: int, *, declared: bool) -> bytes:
    """A zstd frame of ``mib`` MiB of spaces then ``{}``: valid JSON, ~32 KiB a GiB.

    Args:
        mib: Size of the whitespace, in MiB.
        declared: Whether the frame's header states its size (as a one-shot
            ``zstd.compress`` does); a streaming writer leaves it out, so the reader has to
            inflate to find out.
    """
    compressor = zstd.ZstdCompressor(level=3)
    if declared:
        compressor.set_pledged_input_size(mib * MiB + 2)
    block = b" " * MiB
    parts = [compressor.compress(block) for _ in range(mib)]
    return b"".join([*parts, compressor.compress(b"{}"), compressor.flush()])


def nested_bomb(mib: int) -> bytes:
    """A shard whose ``path`` column is ``mib`` MiB of ``[],``: each 3 bytes parse into a
    ~90-byte Python list (~30x), so 12 MiB of JSON would take ~360 MiB once parsed."""
    values = b"[]," * (mib * MiB // 3)
    body = b'{"format":1,"kind":"dataver.shard","count":16384,"path":[' + values + b"[]]}"
    return compress(body)


def _put(registry: dataver.Registry, data: bytes) -> str:
    ref = digest(data)
    registry.store.write(manifest_key(ref), data)
    return ref


def _root(registry: dataver.Registry, shards: list[tuple[bytes, int]]) -> str:
    """Store each ``(shard bytes, count)`` and a root naming them, in order; return it."""
    refs = tuple(
        ShardRef(hash=_put(registry, data), first=f"{i:03d}a", last=f"{i:03d}z", count=n, bytes=0)
        for i, (data, n) in enumerate(shards)
    )
    total = sum(n for _, n in shards)
    return _put(
        registry,
        encode_root(ManifestRoot(hash_algorithm="blake3", files=total, bytes=0, shards=refs)),
    )


def _forge(registry: dataver.Registry, ds: dataver.Dataset, ref: str) -> None:
    """Point ``ds``'s record at the manifest root ``ref``, as a hostile writer could."""
    record = ds.record.model_copy(update={"manifest": ref})
    registry.store.write(record_key(ds.id), record.to_bytes())


@pytest.fixture
def victim(finalized: Finalized) -> dataver.Dataset:
    return finalized({"ok.txt": b"fine bytes"})


# ----------------------------------------------------------------- reading in a fresh process

_READ = textwrap.dedent(
    """
    import json, sys
    import dataver

    def status(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ":"))

    url, version_id, how, read_ahead = sys.argv[1:5]
    registry = dataver.Registry(url)
    if int(read_ahead):
        registry.store.read_ahead = int(read_ahead)
    ds = registry.get(version_id, states=None)
    reads = {
        "list_files": lambda: len(ds.list_files()),
        "get_local_copy": lambda: ds.get_local_copy(),
        "fsck": lambda: [p.kind for p in registry.fsck().errors if p.version_id == ds.id],
    }
    if how == "web":  # NOTE: the app is imported and built before the measure starts
        from fastapi.testclient import TestClient
        from dataver.ui import create_app
        client = TestClient(create_app(url), base_url="http://localhost")

        def web():
            answer = client.get(f"/api/versions/{version_id}/files")
            return [answer.status_code, answer.json().get("error")]

        reads["web"] = web

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # NOTE: resets VmHWM to the current RSS: the peak of this read only
    base = status("VmRSS")
    try:
        result = ["ok", reads[how]()]
    except dataver.DataverError as exc:
        result = [type(exc).__name__, str(exc)]
    print(json.dumps({"result": result, "peak": status("VmHWM") - base}))
    """
)


def read_in_fresh_process(
    registry: dataver.Registry, ds: dataver.Dataset, how: str, read_ahead: int = 0
) -> tuple[list[Any], int]:
    """Run one read of ``ds`` in a new interpreter; return (outcome, peak RSS growth)."""
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("peak RSS is read from Linux's /proc")
    done = subprocess.run(
        [sys.executable, "-c", _READ, registry.url, ds.id, how, str(read_ahead)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["result"], answer["peak"]


# ------------------------------------------------------------------------------ the bombs


@pytest.mark.parametrize("declared", [False, True], ids=["streamed", "size-in-header"])
@pytest.mark.parametrize("count", [1, 16384])
def test_a_1_gib_whitespace_shard_is_refused_in_bounded_memory(
    registry: dataver.Registry, victim: dataver.Dataset, count: int, declared: bool
) -> None:
    bomb = whitespace_bomb(1024, declared=declared)
    assert len(bomb) < 64 * 1024  # the 32 KiB manifest
    _forge(registry, victim, _root(registry, [(bomb, count)]))
    for how in ("list_files", "get_local_copy"):
        (kind, message), peak = read_in_fresh_process(registry, victim, how)
        assert kind == "FormatError", message
        assert peak < RSS_BOUND, f"{how} of a {count}-entry bomb grew RSS by {peak / MiB:.0f} MiB"
        if count == 1:  # NOTE: one entry can never take more than ~113 KiB
            assert peak < 8 * MiB, peak


def test_a_2_gib_bomb_is_refused_cheaply(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    _forge(registry, victim, _root(registry, [(whitespace_bomb(2048, declared=False), 16384)]))
    (kind, message), peak = read_in_fresh_process(registry, victim, "list_files")
    assert kind == "FormatError", message
    assert "over 16,777,216 bytes decompressed" in message
    assert peak < RSS_BOUND, peak


def test_a_bomb_is_refused_at_its_header_when_it_states_its_size(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    _forge(registry, victim, _root(registry, [(whitespace_bomb(2048, declared=True), 16384)]))
    (kind, message), peak = read_in_fresh_process(registry, victim, "list_files")
    assert kind == "FormatError", message
    assert peak < 8 * MiB, peak  # NOTE: nothing inflated


def test_json_that_parses_into_many_objects_is_refused_before_parsing(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    bomb = nested_bomb(12)
    assert len(bomb) < 64 * 1024
    _forge(registry, victim, _root(registry, [(bomb, 16384)]))
    (kind, message), peak = read_in_fresh_process(registry, victim, "list_files")
    assert kind == "FormatError", message
    assert peak < RSS_BOUND, f"grew RSS by {peak / MiB:.0f} MiB"


@pytest.mark.parametrize("how", ["fsck", "web"])
def test_fsck_and_the_web_api_read_bombs_in_bounded_memory(
    registry: dataver.Registry, victim: dataver.Dataset, how: str
) -> None:
    if how == "web":
        pytest.importorskip("fastapi.testclient")
    _forge(registry, victim, _root(registry, [(whitespace_bomb(1024, declared=False), 16384)]))
    result, peak = read_in_fresh_process(registry, victim, how)
    if how == "fsck":
        assert result == ["ok", ["corrupt-manifest"]], result
    else:
        assert result == ["ok", [502, "FormatError"]], result
    assert peak < RSS_BOUND, f"{how} grew RSS by {peak / MiB:.0f} MiB"


def test_shards_read_ahead_are_decoded_one_at_a_time(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    """Four read-ahead threads (as on S3) must not hold four hostile objects at once."""
    # NOTE: whitespace just under the bound around a valid-looking document: each shard
    # inflates to ~16 MiB and parses before it is refused (its count is wrong).
    body = b'{"format":1,"kind":"dataver.shard","count":1,"path":["a"],"size":[1],"hash":[null]}'
    shards = [(compress(b" " * (16 * MiB - 4096 - len(body) - i) + body), 16384) for i in range(6)]
    assert all(len(data) < 4096 for data, _ in shards)
    _forge(registry, victim, _root(registry, shards))
    (kind, message), peak = read_in_fresh_process(registry, victim, "list_files", read_ahead=4)
    assert kind == "FormatError", message
    assert peak < RSS_BOUND, f"grew RSS by {peak / MiB:.0f} MiB"


# -------------------------------------------------------------------- legit shards still read


def test_an_old_16384_entry_shard_of_long_paths_still_reads(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    """A shard as the writer made it before shards were capped by bytes: 16,384 entries of
    600-character paths (~11 MiB of JSON) in one shard."""
    entries = [Entry(f"{i:05d}/" + "p" * 594, 3, H) for i in range(16384)]
    data = encode_shard(entries)
    ref = _put(registry, data)
    shard = ShardRef(
        hash=ref, first=entries[0].path, last=entries[-1].path, count=len(entries), bytes=0
    )
    root = ManifestRoot(hash_algorithm="blake3", files=len(entries), bytes=0, shards=(shard,))
    _forge(registry, victim, _put(registry, encode_root(root)))
    (kind, listed), peak = read_in_fresh_process(registry, victim, "list_files")
    assert (kind, listed) == ("ok", 16384)
    assert len(zstd.decompress(data)) > 10 * MiB
    assert peak < 2 * RSS_BOUND  # NOTE: legit data takes what it needs; this is a sanity cap


def test_the_writer_caps_shards_by_bytes_and_reads_them_back(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    entries = [Entry(f"{i:05d}/" + "q" * 994, 3, H) for i in range(16384)]
    root_ref = write_manifest(registry.store, "blake3", entries)
    root = codec.decode_root(registry.store.read(manifest_key(root_ref)), root_ref)
    assert len(root.shards) > 1
    for shard in root.shards:
        payload = zstd.decompress(registry.store.read(manifest_key(shard.hash)))
        # NOTE: a shard ends once its entries pass SHARD_BYTES: at most one entry more.
        assert len(payload) <= codec.SHARD_BYTES + 2048, (shard.count, len(payload))
        assert codec.readable(payload)
    reader._shards.clear()
    _forge(registry, victim, root_ref)
    assert [e.path for e in dataver.Registry(registry.url).get(victim.id).entries()] == [
        e.path for e in entries
    ]


def test_cuts_stay_content_defined_below_the_byte_cap(registry: dataver.Registry) -> None:
    """Typical entries never reach the byte cap, so shards are the same as before it."""
    entries = [Entry(f"dir{i % 97}/file{i:07d}.jpg", i, f"{i:064x}") for i in range(40000)]
    entries.sort()
    root_ref = write_manifest(registry.store, "blake3", entries)
    root = codec.decode_root(registry.store.read(manifest_key(root_ref)), root_ref)
    from dataver.manifest.writer import MAX_SHARD, is_boundary

    assert all(is_boundary(s.last) or s.count == MAX_SHARD for s in root.shards[:-1])


def test_the_writer_splits_a_shard_readers_would_refuse(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    """Paths full of ',' and ':' parse into few objects, but a reader cannot know that
    without parsing: the writer checks every shard as a reader would and splits it."""
    entries = [Entry(f"{i:04d}/" + ",:" * 2000, 3, H) for i in range(600)]
    assert not codec.readable(codec.shard_payload(entries))
    root_ref = write_manifest(registry.store, "blake3", entries)
    root = codec.decode_root(registry.store.read(manifest_key(root_ref)), root_ref)
    assert len(root.shards) > 2
    for shard in root.shards:
        assert codec.readable(zstd.decompress(registry.store.read(manifest_key(shard.hash))))
    reader._shards.clear()
    _forge(registry, victim, root_ref)
    assert len(dataver.Registry(registry.url).get(victim.id).list_files()) == 600


# ---------------------------------------------------------------------- roots and change sets


def test_a_root_bomb_is_refused_in_bounded_memory(
    registry: dataver.Registry, victim: dataver.Dataset
) -> None:
    _forge(registry, victim, _put(registry, whitespace_bomb(1024, declared=False)))
    (kind, message), peak = read_in_fresh_process(registry, victim, "list_files")
    assert kind == "FormatError", message
    assert peak < RSS_BOUND, peak


def test_a_root_listing_too_many_shards_is_refused() -> None:
    shard = {"hash": H, "first": "a", "last": "a", "count": 1, "bytes": 0}
    doc = {
        "format": 1,
        "kind": "dataver.manifest",
        "hash_algorithm": "blake3",
        "files": codec.MAX_ROOT_SHARDS + 1,
        "bytes": 0,
        "shards": [shard] * (codec.MAX_ROOT_SHARDS + 1),
    }
    with pytest.raises(FormatError, match="lists 16,385 shards"):
        codec.decode_root(compress(orjson.dumps(doc)), "r")
    doc["shards"] = [{**shard, "count": codec.MAX_SHARD_ENTRIES + 1}]
    doc["files"] = codec.MAX_SHARD_ENTRIES + 1
    with pytest.raises(FormatError, match="invalid manifest root"):
        codec.decode_root(compress(orjson.dumps(doc)), "r")


def test_the_writer_refuses_a_root_readers_would_refuse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(codec, "MAX_ROOT_SHARDS", 2)
    entries = [Entry(f"{i:05d}", 1, H) for i in range(3 * 16384)]
    with pytest.raises(ValidationError, match="at most 2 manifest shards"):
        write_manifest(LocalStore(tmp_path / "reg"), "blake3", entries)


def test_staged_change_sets_are_bounded() -> None:
    assert codec.MAX_CHANGES == staged.MAX_STAGED
    bomb = compress(b" " * (codec.MAX_DECODED + 1) + b"{}")
    with pytest.raises(FormatError, match="over 16,777,216 bytes decompressed"):
        codec.decode_changes(bomb, "c")
    paths = [f"f{i:05d}" for i in range(codec.MAX_CHANGES + 1)]
    too_many = codec.encode_changes([], paths)
    with pytest.raises(FormatError, match="hold 4,097 paths"):
        codec.decode_changes(too_many, "c")
    assert codec.decode_changes(codec.encode_changes([], paths[:-1]), "c") == ([], paths[:-1])


def test_a_change_set_too_large_to_read_is_applied_instead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "reg")
    monkeypatch.setattr(codec, "MAX_DECODED", 64 * 1024)
    changes: dict[str, Entry | None] = {
        p: Entry(p, 1, H, source="/src/" + p) for p in (f"{i:04d}/" + "x" * 200 for i in range(300))
    }
    manifest, staged_ref = staged.stage(store, None, None, "blake3", changes)
    assert staged_ref is None  # applied, not staged
    assert manifest is not None
    assert [e.path for e in reader.Manifest(store, manifest)] == sorted(changes)
    small = dict(list(changes.items())[:10])
    assert staged.stage(store, None, None, "blake3", small)[1] is not None  # staged as before


# ----------------------------------------------------------------------- url and source limits


def test_urls_and_sources_past_their_limits_are_refused_on_write_and_on_read() -> None:
    long_url = "s3://bucket/" + "u" * codec.MAX_URL_LENGTH
    with pytest.raises(ValidationError, match="url of 'link' is longer than 8,192"):
        encode_shard([Entry("link", 1, None, url=long_url)])
    with pytest.raises(ValidationError, match="source of 'p' is longer"):
        codec.encode_changes([Entry("p", 1, H, source="/" * 9000)], [])
    ok = Entry("link", 1, None, url="s3://bucket/" + "u" * 8000)
    assert codec.decode_shard(encode_shard([ok]), "s", 1) == [ok]
    raw = orjson.loads(zstd.decompress(encode_shard([ok])))
    raw["url"] = [long_url]
    with pytest.raises(FormatError, match="invalid url"):
        codec.decode_shard(compress(orjson.dumps(raw)), "s", 1)


# --------------------------------------------------------------------------- the shard cache


def test_the_shard_cache_holds_a_bounded_number_of_bytes() -> None:
    reader._shards.clear()
    try:
        for i in range(20):
            reader.remember_shard(f"{i:064x}", [], 8 * MiB)
        assert sum(size for _, size in reader._shards.values()) <= reader.SHARD_CACHE_BYTES
        assert f"{19:064x}" in reader._shards  # the newest stays
    finally:
        reader._shards.clear()


# ------------------------------------------------------------------------ the bounds themselves


def test_the_largest_legit_entry_fits_the_per_entry_ceiling() -> None:
    """A path of 4,096 characters of 4 UTF-8 bytes, a url and a source at their limits made of
    characters JSON escapes as ``\\u00XX``, the largest size and offset, a pack of its own."""
    biggest = Entry(
        "😀" * MAX_PATH_LENGTH,
        codec.MAX_SIZE - 1,
        H,
        pack=H,
        offset=codec.MAX_SIZE - 1,
        url="\x01" * codec.MAX_URL_LENGTH,
        source="\x01" * codec.MAX_SOURCE_LENGTH,
    )
    assert len(codec.shard_payload([biggest])) <= codec.shard_limit(1)
    assert codec.decode_shard(encode_shard([biggest]), "s", 1) == [biggest]


def test_paths_are_validated_in_slices() -> None:
    entries = [Entry(f"d/{i:05d}", 1, H) for i in range(1000)]
    assert codec.decode_shard(encode_shard(entries), "s", 1000) == entries
    entries[700] = Entry("d/00700/../x", 1, H)
    with pytest.raises(FormatError, match=r"d/00700/\.\./x"):
        codec.decode_shard(encode_shard(entries), "s", 1000)
