"""Large files stored as content-defined chunks: an edit stores about the edit.

Chunk sizes are shrunk (64 KiB on average, files of 1 MiB and more chunked) so that files
of a few MiB exercise every path quickly; the rules do not depend on the sizes.
"""

from __future__ import annotations

import json
import random
import signal
from typing import TYPE_CHECKING

import orjson
import pytest

import dataver
from dataver.errors import FormatError
from dataver.layout import manifest_key
from dataver.manifest import recipe
from dataver.manifest.codec import decompress
from dataver.settings import Settings
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

AVG = 64 << 10
MAX_CHUNK = 4 * AVG
SIZE = 3 << 20


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVER_CHUNK_THRESHOLD", str(1 << 20))
    monkeypatch.setenv("DATAVER_CHUNK_SIZE", str(AVG))
    monkeypatch.setenv("DATAVER_PACK_SIZE", str(1 << 16))


def _edit(data: bytes, kind: str, at: int, size: int, rng: random.Random) -> bytes:
    if kind == "overwrite":
        return data[:at] + rng.randbytes(size) + data[at + size :]
    if kind == "insert":
        return data[:at] + rng.randbytes(size) + data[at:]
    if kind == "delete":
        return data[:at] + data[at + size :]
    if kind == "append":
        return data + rng.randbytes(size)
    return data[: len(data) - size]  # truncate


def _first(
    registry: dataver.Registry, folder: Path, name: str, files: dict[str, bytes]
) -> dataver.Dataset:
    """Write ``files`` into ``folder`` and build a Final version of them."""
    folder.mkdir(exist_ok=True)
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    ds = registry.create(name)
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    return ds


def _child(registry: dataver.Registry, parent: dataver.Dataset, folder: Path) -> dataver.Dataset:
    child = registry.create(parent.name, parents=[parent])
    child.sync_folder(folder)
    child.finalize(auto_upload=True)
    return child


@pytest.mark.parametrize("kind", ["overwrite", "insert", "delete", "append", "truncate"])
def test_an_edit_stores_about_the_edit(
    registry: dataver.Registry, tmp_path: Path, kind: str, read_tree: Callable[..., dict]
) -> None:
    rng = random.Random(kind)
    folder = tmp_path / "data"
    original = rng.randbytes(SIZE)
    parent = _first(registry, folder, "big", {"big.bin": original, "small.txt": b"small"})
    edit = 100_000
    changed = _edit(original, kind, SIZE // 2, edit, rng)
    (folder / "big.bin").write_bytes(changed)

    child = _child(registry, parent, folder)

    assert child.stats.modified == 1
    assert child.stats.logical_bytes == len(changed) + 5
    # NOTE: the edit, plus the chunks it cuts through on either side, plus the list itself.
    assert child.stats.stored_bytes <= edit + 2 * MAX_CHUNK + 8192, child.stats
    assert parent.stats.stored_bytes >= SIZE
    out = read_tree(child.get_local_copy())
    assert out["big.bin"] == changed
    assert read_tree(parent.get_local_copy())["big.bin"] == original


def test_chunked_entries_name_a_list_and_their_objects_say_format_2(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    ds = _first(registry, tmp_path / "data", "fmt", {"big.bin": random.Random(1).randbytes(SIZE)})
    store = registry.store
    root = decompress(store.read(manifest_key(ds._record.manifest)), "root")
    assert root["format"] == 1  # NOTE: the root names shards only
    shard = decompress(store.read(manifest_key(root["shards"][0]["hash"])), "shard")
    assert shard["format"] == 2
    assert "pack" not in shard
    entry = ds._manifest().get("big.bin")
    assert entry is not None
    assert entry.is_chunked
    listed = recipe.read(store, entry)
    assert listed.file_size == SIZE
    assert listed.inline is not None
    assert 0.5 * SIZE / (1.25 * AVG) < listed.count < 2 * SIZE / (1.25 * AVG)


def test_small_files_and_files_below_the_threshold_are_not_chunked(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    files = {"mid.bin": random.Random(2).randbytes((1 << 20) - 1), "tiny.txt": b"x"}
    ds = _first(registry, tmp_path / "data", "below", files)
    assert not any(e.is_chunked for e in ds._manifest().iter_entries())


def test_old_versions_stay_whole_and_new_ones_chunk(
    registry: dataver.Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    read_tree: Callable[..., dict],
) -> None:
    """A dataset built before chunks (threshold 0: never) gets chunked children; every
    version reads back, and the grandchild shares the child's chunks."""
    rng = random.Random(3)
    folder = tmp_path / "data"
    folder.mkdir()
    data = rng.randbytes(SIZE)
    (folder / "big.bin").write_bytes(data)
    monkeypatch.setenv("DATAVER_CHUNK_THRESHOLD", "0")
    registry = dataver.Registry(registry.store.url)  # NOTE: settings are read at open
    old = registry.create("mixed")
    old.add_files(folder)
    old.finalize(auto_upload=True)
    assert not any(e.is_chunked for e in old._manifest().iter_entries())
    monkeypatch.setenv("DATAVER_CHUNK_THRESHOLD", str(1 << 20))
    registry = dataver.Registry(registry.store.url)
    data = _edit(data, "overwrite", 1000, 1000, rng)
    (folder / "big.bin").write_bytes(data)
    child = _child(registry, old, folder)
    assert child.stats.stored_bytes >= SIZE  # NOTE: nothing to share: the parent is whole
    data2 = _edit(data, "insert", 2000, 1000, rng)
    (folder / "big.bin").write_bytes(data2)
    grandchild = _child(registry, child, folder)
    assert grandchild.stats.stored_bytes <= 1000 + 2 * MAX_CHUNK + 8192
    unchanged = _child(registry, grandchild, folder)
    assert unchanged.stats.stored_bytes == 0
    for version, expected in ((old, SIZE), (child, SIZE), (grandchild, SIZE + 1000)):
        assert len(read_tree(version.get_local_copy())["big.bin"]) == expected
    assert read_tree(grandchild.get_local_copy())["big.bin"] == data2


def test_a_resumed_upload_sends_no_chunk_already_stored(
    registry: dataver.Registry,
    registry_path: Path,
    tmp_path: Path,
    worker: Callable[..., subprocess.CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
    read_tree: Callable[..., dict],
) -> None:
    """kill -9 in the middle of a chunked upload; the resumed upload writes only the packs
    the journal lacks (a pack written but not yet journalled has the same bytes, and is
    found in place)."""
    folder = tmp_path / "data"
    folder.mkdir()
    data = random.Random(4).randbytes(SIZE)
    (folder / "big.bin").write_bytes(data)
    ds = registry.create("resume")
    ds.add_files(folder)

    died = worker("upload_killed", registry_path.as_uri(), ds.id, "30")

    assert died.returncode == -signal.SIGKILL, died.stderr
    journal = list((registry_path / "staging" / ds.id).glob("*.json"))
    stored_before = {key for p in journal for key in json.loads(p.read_text()).get("chunks", {})}
    assert len(stored_before) >= 5  # NOTE: chunks were stored before the kill
    writes: list[str] = []
    original = LocalStore.write

    def counting(self: LocalStore, key: str, data: bytes) -> None:
        writes.append(key)
        original(self, key, data)

    monkeypatch.setattr(LocalStore, "write", counting)
    resumed = registry.get(ds.id, states=None)
    resumed.finalize(auto_upload=True)

    sent = [k for k in writes if k.startswith("packs/")]
    total_chunks = recipe.read(registry.store, resumed._manifest().get("big.bin")).count
    assert 0 < len(sent) <= total_chunks - len(stored_before) + 1
    # NOTE: a kill in the middle of a write leaves its temporary file (".<name>.<id>.tmp",
    # fsck's "leftover"): only packs count.
    packs = [p for p in (registry_path / "packs").rglob("*") if p.is_file()]
    pack_bytes = sum(p.stat().st_size for p in packs if not p.name.startswith("."))
    assert pack_bytes == SIZE  # NOTE: every chunk stored once, none twice
    assert read_tree(resumed.get_local_copy())["big.bin"] == data


@pytest.mark.parametrize("where", ["local", "s3"])
def test_gc_after_deleting_the_parent_keeps_every_chunk_the_child_uses(
    where: str,
    registry: dataver.Registry,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    read_tree: Callable[..., dict],
) -> None:
    reg = registry if where == "local" else dataver.Registry(request.getfixturevalue("s3_url"))
    rng = random.Random(5)
    folder = tmp_path / "data"
    data = rng.randbytes(SIZE)
    parent = _first(reg, folder, "gc", {"big.bin": data})
    changed = _edit(data, "overwrite", SIZE // 3, 300_000, rng)
    (folder / "big.bin").write_bytes(changed)
    child = _child(reg, parent, folder)

    # NOTE: a parent with live children cannot be deleted: its child is squashed into a
    # version of its own first (sharing the chunk lists), then the chain goes.
    kept = reg.squash([child], name="kept")
    reg.delete(child.id)
    reg.delete(parent.id)
    plan = reg.gc(dry_run=False, grace_seconds=0)

    assert plan.freed_bytes > 0  # NOTE: the parent's own chunks went
    assert reg.fsck(grace_seconds=0).errors == ()
    fresh = dataver.Registry(reg.store.url, settings=Settings(cache_dir=tmp_path / "fresh-cache"))
    assert read_tree(fresh.get(kept.id).get_local_copy())["big.bin"] == changed


def test_a_chunk_list_that_belongs_to_another_file_is_refused(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    files = {"a.bin": random.Random(6).randbytes(SIZE), "b.bin": random.Random(7).randbytes(SIZE)}
    ds = _first(registry, tmp_path / "data", "forged", files)
    a, b = (ds._manifest().get(p) for p in ("a.bin", "b.bin"))
    assert a is not None
    assert b is not None
    with pytest.raises(FormatError, match="another file"):
        recipe.read(registry.store, a._replace(chunks=b.chunks))


@pytest.mark.parametrize(
    "forged",
    [
        {"count": 1 << 30},
        {
            "chunks": {
                "count": 1,
                "hash": ["0" * 64],
                "size": [1],
                "packs": [],
                "pack": [0],
                "offset": [0],
            }
        },
        {"parts": [{"hash": "0" * 64, "count": 1 << 20, "bytes": 1}]},
        {"format": 1},
        {"file_size": -1},
    ],
)
def test_forged_chunk_lists_are_refused(
    registry: dataver.Registry, tmp_path: Path, forged: dict
) -> None:
    ds = _first(registry, tmp_path / "data", "forged", {"a.bin": random.Random(8).randbytes(SIZE)})
    entry = ds._manifest().get("a.bin")
    assert entry is not None
    raw = decompress(registry.store.read(manifest_key(entry.chunks or "")), "root")
    raw.update(forged)
    if "parts" in forged:
        raw.pop("chunks")
    from dataver.manifest.codec import compress, digest

    data = compress(orjson.dumps(raw))
    registry.store.write(manifest_key(digest(data)), data)
    with pytest.raises(FormatError):
        recipe.read(registry.store, entry._replace(chunks=digest(data)))


def test_squash_keeps_the_chunks_and_survives_deleting_the_chain(
    registry: dataver.Registry, tmp_path: Path, read_tree: Callable[..., dict]
) -> None:
    rng = random.Random(9)
    folder = tmp_path / "data"
    data = rng.randbytes(SIZE)
    parent = _first(registry, folder, "sq", {"big.bin": data})
    data = _edit(data, "insert", 5000, 70_000, rng)
    (folder / "big.bin").write_bytes(data)
    child = _child(registry, parent, folder)

    squashed = registry.squash([parent, child], name="squashed")
    assert squashed.stats.stored_bytes == 0  # NOTE: it re-uses the chain's chunks
    registry.delete(child.id)
    registry.delete(parent.id)
    registry.gc(dry_run=False, grace_seconds=0)

    assert registry.fsck(grace_seconds=0).errors == ()
    fresh = dataver.Registry(registry.store.url, settings=Settings(cache_dir=tmp_path / "fresh"))
    assert read_tree(fresh.get(squashed.id).get_local_copy())["big.bin"] == data


def test_a_file_below_the_pack_threshold_but_chunked_is_stored_once(
    registry: dataver.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the chunk threshold below the pack threshold (1 MiB), a file between the two is
    chunked, not packed as well (Hypothesis found it stored twice)."""
    monkeypatch.setenv("DATAVER_CHUNK_THRESHOLD", str(512 << 10))
    registry = dataver.Registry(registry.store.url)
    data = random.Random(10).randbytes(700_000)
    ds = _first(registry, tmp_path / "data", "between", {"mid.bin": data})
    entry = ds.content().get("mid.bin")
    assert entry is not None
    assert entry.is_chunked
    assert len(data) <= ds.stats.stored_bytes < len(data) + 8192


UPLOAD_SCRIPT = """
import pathlib, sys
import dataver
ds = dataver.Registry(sys.argv[1]).create("mixed")
ds.add_files(sys.argv[2])
ds.finalize(auto_upload=True)
print(ds.stats.files)
"""


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_chunked_files_and_packs_of_small_files_never_wait_on_each_other(
    workers: int, registry_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More chunked files than upload threads, and many packs of small files: a pack of
    small files holding a slot must never queue behind a file being cut that waits for a
    slot (it hung with one worker: the file waited for the slot, the slot for the file)."""
    import subprocess
    import sys

    folder = tmp_path / "data"
    folder.mkdir()
    rng = random.Random(7)
    for i in range(workers + 1):
        (folder / f"big{i}.bin").write_bytes(rng.randbytes(SIZE))
    for i in range(600):  # NOTE: ~40 packs of 64 KiB
        (folder / f"small{i:04}.bin").write_bytes(rng.randbytes(4 << 10))
    monkeypatch.setenv("DATAVER_MAX_WORKERS", str(workers))
    done = subprocess.run(
        [sys.executable, "-c", UPLOAD_SCRIPT, registry_path.as_uri(), str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(workers + 1 + 600)]
