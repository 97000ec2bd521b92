"""Reading chunked files: gets (cold, warm, subsets, parts, mutable copies), open() by
range, verify, and corrupted chunks, on real registries (a folder, and moto S3)."""

from __future__ import annotations

import io
import logging
import os
import random
import shutil
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.errors import IntegrityError
from dataver.layout import pack_key
from dataver.manifest import recipe

from .chunkdata import MAX_CHUNK, Built, build, chunk_settings, chunks_of, count_reads
from .test_concurrency import race

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    from dataver.objects.fetch import Piece


@pytest.fixture(autouse=True)
def _chunked(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk_settings(monkeypatch)


@pytest.fixture
def built(registry: dataver.Registry, tmp_path: Path) -> Built:
    return build(registry, tmp_path / "src")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _leftovers(root: Path) -> list[Path]:
    return list(root.rglob("*.tmp"))


def test_the_files_are_chunked_over_many_packs_and_versions(
    registry: dataver.Registry, built: Built
) -> None:
    first, _, third = built.versions
    old = chunks_of(registry, first, "big.bin")
    new = chunks_of(registry, third, "big.bin")
    assert len({p.pack for p in new}) > 5
    assert {p.pack for p in new} & {p.pack for p in old}, "shares chunks with its grandparent"
    assert {p.pack for p in new} - {p.pack for p in old}, "holds chunks of its own"
    assert third.stats.stored_bytes < third.stats.logical_bytes // 4


def test_cold_then_warm_get(
    any_registry: dataver.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = any_registry
    built = build(registry, tmp_path / "src")
    reads = count_reads(registry, monkeypatch)
    for ds, files in zip(built.versions, built.files, strict=True):
        assert _tree(ds.get_local_copy()) == files
    assert reads.content_bytes > 0
    reads.clear()
    again = dataver.Registry(registry.url)
    warm = count_reads(again, monkeypatch)
    for ds, files in zip(built.versions, built.files, strict=True):
        assert _tree(again.get(ds.id).get_local_copy()) == files
    assert warm.calls == []
    assert _leftovers(tmp_path / "cache") == []


def test_a_new_version_reuses_cached_blobs(
    registry: dataver.Registry, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    built.versions[1].get_local_copy()
    reads = count_reads(registry, monkeypatch)
    built.versions[2].get_local_copy()
    fetched = {key for key, _, _ in reads.calls}
    shared = {pack_key(p.pack) for p in chunks_of(registry, built.versions[0], "same.bin")}
    assert not fetched & shared, "same.bin was already in the cache"
    # NOTE: only the changed files (big.bin and the text) are fetched again
    assert reads.content_bytes < 2 * (len(built.files[2]["big.bin"]) + (2 << 20))


def test_a_new_version_downloads_only_the_chunks_its_cached_parent_lacks(
    registry: dataver.Registry, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache donates the chunks of the copy it holds of the same path's earlier
    version: the grandchild's big.bin (5,000 bytes inserted) and log (a line appended)
    download about their edits."""
    built.versions[1].get_local_copy()
    reads = count_reads(registry, monkeypatch)
    assert _tree(built.versions[2].get_local_copy()) == built.files[2]
    assert 0 < reads.content_bytes <= 2 * (5_000 + 2 * MAX_CHUNK)


def test_a_damaged_cached_copy_donates_nothing_wrong(
    registry: dataver.Registry, built: Built, cache_dir: Path
) -> None:
    tree = built.versions[1].get_local_copy()
    blob = registry.backend.cache.blob_path(built.versions[1].content().get("big.bin"))
    blob.chmod(0o644)
    with blob.open("r+b") as handle:
        handle.write(bytes(64 << 10))  # NOTE: the chunks at the start are no longer there
    del tree
    assert _tree(built.versions[2].get_local_copy()) == built.files[2]


def test_subsets_and_parts(built: Built) -> None:
    ds, files = built.versions[2], built.files[2]
    subset = _tree(ds.get_local_copy(["big.bin", "text"]))
    assert subset == {k: v for k, v in files.items() if k in ("big.bin", "text/log.txt")}
    parts = [_tree(ds.get_local_copy(part=i, num_parts=3)) for i in range(3)]
    merged: dict[str, bytes] = {}
    for part in parts:
        assert not merged.keys() & part.keys()
        merged.update(part)
    assert merged == files


def test_mutable_copy(built: Built, tmp_path: Path) -> None:
    ds, files = built.versions[1], built.files[1]
    out = ds.get_mutable_local_copy(tmp_path / "mine")
    assert _tree(out) == files
    with (out / "big.bin").open("r+b") as handle:
        handle.write(b"changed")
    assert _tree(ds.get_local_copy())["big.bin"] == files["big.bin"]


def test_open_reads_only_the_chunks_it_touches(
    registry: dataver.Registry, built: Built, monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    ds, data = built.versions[2], built.files[2]["big.bin"]
    reads = count_reads(registry, monkeypatch)
    rnd = random.Random(5)
    with ds.open("big.bin") as handle:
        assert handle.seekable()
        for start in [0, len(data) - 10, 1 << 20, *(rnd.randrange(len(data)) for _ in range(8))]:
            reads.clear()
            handle.seek(start)
            assert handle.read(1000) == data[start : start + 1000]
            assert reads.content_bytes <= 2 * MAX_CHUNK, (start, reads.calls)
        handle.seek(-100, os.SEEK_END)
        assert handle.read() == data[-100:]
        # NOTE: sequential small reads are served by the chunks already fetched
        handle.seek(2 << 20)
        reads.clear()
        got = b"".join(handle.read(4096) for _ in range(64))
        assert got == data[2 << 20 : (2 << 20) + 64 * 4096]
        assert reads.content_bytes <= 256 * 1024 + 2 * MAX_CHUNK
    entry = ds.content().get("big.bin")
    assert entry is not None
    assert not list(cache_dir.rglob(entry.hash or "?")), "open() by range fills no cache"


def test_open_in_text_mode(built: Built) -> None:
    ds, data = built.versions[2], built.files[2]["text/log.txt"]
    lines = data.decode().splitlines(keepends=True)
    with ds.open("text/log.txt", "r") as handle:
        assert isinstance(handle, io.TextIOWrapper)
        assert handle.readline() == lines[0]
        assert handle.readline() == lines[1]
        assert handle.read() == "".join(lines[2:])
    with ds.open("text/log.txt", "r") as handle:
        assert sum(1 for _ in handle) == len(lines)


def test_open_reads_a_cached_file_from_the_cache(
    registry: dataver.Registry, built: Built, monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    ds, data = built.versions[0], built.files[0]["big.bin"]
    ds.get_local_copy()
    reads = count_reads(registry, monkeypatch)
    with ds.open("big.bin") as handle:
        handle.seek(12345)
        assert handle.read(100) == data[12345:12445]
        assert handle.name.startswith(str(cache_dir / "blobs"))
    assert reads.calls == []


def _corrupt(registry_path: Path, piece: Piece) -> None:
    pack = registry_path / pack_key(piece.pack)
    os.chmod(pack, 0o644)
    with pack.open("r+b") as handle:
        handle.seek(piece.offset + piece.size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))


@pytest.fixture
def corrupted(registry: dataver.Registry, registry_path: Path, built: Built) -> Piece:
    """A chunk of big.bin only the grandchild holds, with one byte flipped in its pack."""
    older = {p.hash for ds in built.versions[:2] for p in chunks_of(registry, ds, "big.bin")}
    mine = [p for p in chunks_of(registry, built.versions[2], "big.bin") if p.hash not in older]
    _corrupt(registry_path, mine[0])
    return mine[0]


def test_get_refuses_a_corrupted_chunk(built: Built, corrupted: Piece, cache_dir: Path) -> None:
    ds = built.versions[2]
    with pytest.raises(IntegrityError) as caught:
        ds.get_local_copy()
    assert caught.value.path == "big.bin"  # type: ignore[attr-defined]
    assert corrupted.hash in str(caught.value)
    assert "big.bin" in str(caught.value)
    assert _leftovers(cache_dir) == []
    blob = cache_dir / "blobs" / ds.content().get("big.bin").hash[:2]  # type: ignore[union-attr]
    assert not blob.exists() or not any(blob.iterdir())
    # NOTE: the older versions do not hold that chunk: they are still readable
    assert _tree(built.versions[1].get_local_copy()) == built.files[1]


def test_open_refuses_a_corrupted_chunk(built: Built, corrupted: Piece) -> None:
    with built.versions[2].open("big.bin") as handle:
        handle.seek(corrupted.at)
        with pytest.raises(IntegrityError, match=corrupted.hash):
            handle.read(10)


def test_verify_names_the_file_and_logs_the_chunk(
    built: Built, corrupted: Piece, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dataver.verify"):
        assert built.versions[2].verify() == ["big.bin"]
    assert corrupted.hash in caplog.text
    assert built.versions[1].verify() == []


def test_verify_finds_a_sound_chunked_version_sound(built: Built) -> None:
    for ds in built.versions:
        assert ds.verify() == []


def test_long_chunk_lists_in_parts(
    registry: dataver.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list too long to hold its chunks itself holds parts: gets and open() read them
    (open() each part once, not once per read)."""
    monkeypatch.setattr(recipe, "INLINE_CHUNKS", 8)
    monkeypatch.setattr(recipe, "MAX_PART_CHUNKS", 8)
    built = build(registry, tmp_path / "src")
    ds, files = built.versions[2], built.files[2]
    entry = ds.content().get("big.bin")
    assert entry is not None
    listed = recipe.read(registry.store, entry)
    assert listed.inline is None
    assert len(listed.parts) > 3
    assert _tree(ds.get_local_copy()) == files
    data = files["big.bin"]
    reads = count_reads(registry, monkeypatch)
    list_reads: list[str] = []
    inner = registry.store.read

    def read(key: str) -> bytes:
        list_reads.append(key)
        return inner(key)

    monkeypatch.setattr(registry.store, "read", read)
    shutil.rmtree(tmp_path / "cache")
    with ds.open("big.bin") as handle:
        for start in range(0, len(data), 50_000):
            handle.seek(start)
            assert handle.read(20_000) == data[start : start + 20_000]
    parts = [key for key in list_reads if key in listed.keys()[1:]]
    assert len(parts) == len(set(parts)) == len(listed.parts)
    assert reads.content_bytes <= 2 * len(data)


def test_a_chunk_held_many_times(
    registry: dataver.Registry, built: Built, monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    ds, data = built.versions[0], built.files[0]["zeros.bin"]
    placed = chunks_of(registry, ds, "zeros.bin")
    assert len({p.hash for p in placed}) < len(placed)
    reads = count_reads(registry, monkeypatch)
    with ds.open("zeros.bin") as handle:
        handle.seek(1 << 20)
        assert handle.read(600_000) == data[1 << 20 : (1 << 20) + 600_000]
    assert reads.content_bytes <= 2 * MAX_CHUNK
    assert (ds.get_local_copy() / "zeros.bin").read_bytes() == data


def test_a_damaged_cached_copy_is_repaired_from_the_chunks(built: Built, cache_dir: Path) -> None:
    ds, files = built.versions[2], built.files[2]
    tree = ds.get_local_copy()
    blob = tree / "big.bin"
    os.chmod(blob, 0o644)
    with blob.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\xff\x00\xff")
    assert ds.verify() == ["big.bin"]
    assert ds.verify(repair=True) == ["big.bin"]
    assert ds.verify() == []
    assert _tree(ds.get_local_copy()) == files


def test_concurrent_gets_fetch_a_chunked_file_once(
    registry_path: Path,
    built: Built,
    cache_dir: Path,
    spawn_worker: Callable[..., subprocess.Popen[str]],
) -> None:
    ds, files = built.versions[1], built.files[1]
    procs = [spawn_worker("get", str(registry_path), ds.id) for _ in range(3)]
    results = race(procs)
    expected = {path: data.hex() for path, data in files.items()}
    assert all(r["files"] == expected for r in results)
    read = sum(n for r in results for _, _, n in r["reads"])
    assert read < 1.5 * sum(len(d) for d in files.values())
    assert list((cache_dir / "tmp").iterdir()) == []
