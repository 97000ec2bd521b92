"""Hostile input (behaviour 14): unsafe paths on add and on read, reserved metadata keys,
corrupted content, tampered manifests and records. Nothing bad is ever returned silently.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import dataver
from dataver import FormatError, IntegrityError, State, UnsafePathError, ValidationError
from dataver.errors import NotFoundError
from dataver.manifest.entry import Entry
from dataver.manifest.writer import write_manifest

ReadTree = Callable[[Path], dict[str, bytes]]
Finalized = Callable[..., dataver.Dataset]


def set_record_field(registry_path: Path, version_id: str, **fields: object) -> None:
    """Tamper with a version record on disk, as a hostile writer of the bucket could."""
    path = registry_path / "versions" / f"{version_id}.json"
    raw = json.loads(path.read_text())
    raw.update(fields)
    path.write_text(json.dumps(raw))


# ------------------------------------------------------------------- unsafe paths on add


@pytest.mark.parametrize("dataset_path", ["..", "../up", "a/../../up", "a/./b", "x\x00y"])
def test_unsafe_dataset_path_is_rejected_on_add(
    registry: dataver.Registry, tmp_path: Path, dataset_path: str
) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    ds = registry.create("ds")
    with pytest.raises(UnsafePathError):
        ds.add_files(tmp_path / "f.txt", dataset_path=dataset_path)
    with pytest.raises(UnsafePathError):
        ds.add_external_files((tmp_path / "f.txt").as_uri(), dataset_path=dataset_path)
    with pytest.raises(UnsafePathError):
        ds.sync_folder(tmp_path, dataset_path=dataset_path)
    assert ds.list_files() == []


@pytest.mark.parametrize("name", ["line\nbreak.txt", "back\\slash.txt", "esc\x1b.txt"])
def test_unsafe_local_file_names_are_rejected_on_add(
    registry: dataver.Registry, tmp_path: Path, name: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "fine.txt").write_bytes(b"ok")
    (src / name).write_bytes(b"hostile")
    ds = registry.create("ds")
    with pytest.raises(UnsafePathError, match="unsafe dataset path"):
        ds.add_files(src)
    assert ds.list_files() == []  # all or nothing


# ------------------------------------------------------------------ unsafe paths on read

HOSTILE_PATHS = ["../escape.txt", "a/../../escape.txt", "/dataver-escape.txt", "a\x00b", "..\\x"]


@pytest.mark.parametrize("hostile", HOSTILE_PATHS)
def test_unsafe_manifest_path_is_rejected_on_read(
    finalized: Finalized,
    registry: dataver.Registry,
    registry_path: Path,
    cache_dir: Path,
    tmp_path: Path,
    hostile: str,
) -> None:
    ds = finalized({"ok.txt": b"ok"})
    good = next(ds.entries())
    # A manifest a hostile writer put in the bucket: real content, an escaping path.
    evil = write_manifest(
        registry.store,
        "blake3",
        [good._replace(path=hostile), Entry("zz-ok", good.size, good.hash, good.pack, 0)],
    )
    set_record_field(registry_path, ds.id, manifest=evil)
    victim = dataver.Registry(registry_path).get(ds.id)
    assert victim.state is State.FINAL
    for read in (victim.list_files, victim.get_local_copy, victim.verify, victim.entries):
        with pytest.raises(FormatError, match="unsafe dataset path") as info:
            list(read())  # type: ignore[call-overload]
        assert info.value.path == hostile
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/dataver-escape.txt").exists()
    assert not (cache_dir / "versions" / ds.id).exists()
    # A child cannot be built on it either.
    with pytest.raises(FormatError):
        registry.create("child", parents=[ds.id]).list_files()


def test_tampered_manifest_shard_is_rejected(finalized: Finalized, registry_path: Path) -> None:
    ds = finalized({"a": b"a", "b": b"b"})
    shards = list((registry_path / "manifests").rglob("*.json.zst"))
    assert shards
    for shard in shards:
        data = bytearray(shard.read_bytes())
        data[-5] ^= 0xFF
        shard.write_bytes(bytes(data))
    fresh = dataver.Registry(registry_path).get(ds.id)  # new process: no decoded cache
    with pytest.raises(FormatError, match="do not match its hash"):
        fresh.list_files()


def test_missing_manifest_is_reported(finalized: Finalized, registry_path: Path) -> None:
    ds = finalized({"a": b"a"})
    set_record_field(registry_path, ds.id, manifest="ab" * 32)
    with pytest.raises(NotFoundError, match="missing from the registry"):
        dataver.Registry(registry_path).get(ds.id).list_files()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"format": 2}, "format 2"),
        ({"state": "reopened"}, "invalid VersionRecord"),
        ({"surprise": True}, "invalid VersionRecord"),
        ({"parents": "not-a-list"}, "invalid VersionRecord"),
    ],
)
def test_tampered_record_is_rejected(
    finalized: Finalized, registry_path: Path, fields: dict[str, object], error: str
) -> None:
    ds = finalized({"a": b"a"})
    set_record_field(registry_path, ds.id, **fields)
    with pytest.raises(FormatError, match=error):
        dataver.Registry(registry_path).get(ds.id, states=None)


def test_record_that_is_not_json(finalized: Finalized, registry_path: Path) -> None:
    ds = finalized({"a": b"a"})
    (registry_path / "versions" / f"{ds.id}.json").write_bytes(b"\x00garbage")
    with pytest.raises(FormatError, match="not JSON"):
        dataver.Registry(registry_path).get(ds.id, states=None)
    assert dataver.Registry(registry_path).list() == []  # listing skips it, never crashes


@pytest.mark.parametrize("marker", [b'{"format": 2}', b"not json"])
def test_registry_of_unknown_format_is_refused(tmp_path: Path, marker: bytes) -> None:
    root = tmp_path / "future"
    root.mkdir()
    (root / "dataver.json").write_bytes(marker)
    with pytest.raises(FormatError, match=r"format|corrupt"):
        dataver.Registry(root)


# ------------------------------------------------------------------------------ metadata


@pytest.mark.parametrize("key", ["dataver.state", "dataver.", "_id", "_"])
def test_reserved_metadata_keys_are_refused(registry: dataver.Registry, key: str) -> None:
    with pytest.raises(ValidationError, match="is reserved") as info:
        registry.create("ds", metadata={key: "x"})
    assert info.value.key == key
    assert registry.list() == []
    ds = registry.create("ds", metadata={"ok": 1})
    with pytest.raises(ValidationError, match="is reserved"):
        ds.set_metadata({key: "x", "ok": 2})
    assert registry.get(ds.id, states=None).metadata == {"ok": 1}


def test_metadata_cannot_overwrite_record_fields(registry: dataver.Registry) -> None:
    sneaky = {
        "state": "published",
        "id": "0" * 32,
        "version": "9.9.9",
        "parents": ["f" * 32],
        "manifest": "ab" * 32,
        "stats": {"stored_bytes": 1},
    }
    ds = registry.create("ds", metadata=sneaky)
    for fresh in (ds, registry.get(ds.id, states=None)):
        assert fresh.state is State.UPLOADING
        assert fresh.id != "0" * 32
        assert fresh.version == "1.0.0"
        assert fresh.parents == ()
        assert fresh.record.manifest is None
        assert fresh.stats.stored_bytes == 0
        assert fresh.metadata == sneaky
    ds.set_metadata({"state": "final"})
    assert registry.get(ds.id, states=None).state is State.UPLOADING


@pytest.mark.parametrize(
    "metadata",
    [
        {1: "int key"},
        {"": "empty key"},
        {"set": {1, 2}},
        {"nan": math.nan},
        {"big": "x" * (300 * 1024)},
        ["not", "a", "dict"],
    ],
    ids=["int-key", "empty-key", "set-value", "nan", "too-big", "list"],
)
def test_invalid_metadata_is_refused(registry: dataver.Registry, metadata: object) -> None:
    with pytest.raises(ValidationError, match="metadata"):
        registry.create("ds", metadata=metadata)  # type: ignore[arg-type]


@pytest.mark.parametrize("tag", ["", "x" * 129, "new\nline"])
def test_invalid_tags_are_refused(registry: dataver.Registry, tag: str) -> None:
    with pytest.raises(ValidationError, match="invalid tag"):
        registry.create("ds", tags=[tag])


# ------------------------------------------------------------------ corrupted content


def _flip(path: Path, offset: int) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupted_pack_is_reported_by_verify_and_by_get(
    finalized: Finalized, registry_path: Path, cache_dir: Path
) -> None:
    ds = finalized({"a.txt": b"A" * 100, "b.txt": b"B" * 100, "c.txt": b"C" * 100})
    entries = {e.path: e for e in ds.entries()}
    victim = entries["b.txt"]
    assert victim.pack is not None
    pack = registry_path / "packs" / victim.pack[:2] / victim.pack
    _flip(pack, victim.offset + 10)

    assert ds.verify() == ["b.txt"]
    with pytest.raises(IntegrityError, match=r"b\.txt") as info:
        ds.get_local_copy()
    assert info.value.path == "b.txt"
    assert not (cache_dir / "versions" / ds.id).exists()
    assert not (cache_dir / "versions" / f"{ds.id}.complete").exists()
    blob = cache_dir / "blobs" / victim.hash[:2] / victim.hash  # type: ignore[index]
    assert not blob.exists()  # nothing corrupt entered the cache
    with pytest.raises(IntegrityError):
        ds.get_local_copy()  # and it is not returned the second time either


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupted_single_object_is_reported(
    registry_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_tree: Callable[..., Path],
    damage: str,
) -> None:
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "0")  # every file is its own object
    reg = dataver.Registry(registry_path)
    ds = reg.create("ds")
    ds.add_files(write_tree(tmp_path / "src", {"big.bin": os.urandom(5000), "ok": b"fine"}))
    ds.finalize(auto_upload=True)
    victim = next(e for e in ds.entries() if e.path == "big.bin")
    assert victim.pack is None
    assert victim.hash is not None
    obj = registry_path / "objects" / victim.hash[:2] / victim.hash
    if damage == "flip":
        _flip(obj, 4000)
    elif damage == "truncate":
        obj.write_bytes(obj.read_bytes()[:-1])
    else:
        obj.unlink()

    assert ds.verify() == ["big.bin"]
    expected = NotFoundError if damage == "delete" else IntegrityError
    with pytest.raises(expected, match=r"big\.bin|not found"):
        ds.get_local_copy()
    assert not (tmp_path / "cache" / "versions" / ds.id).exists()


def test_corrupted_cached_tree_is_reported_by_verify(finalized: Finalized) -> None:
    ds = finalized({"a": b"a" * 50, "b": b"b" * 50})
    tree = ds.get_local_copy()
    assert ds.verify() == []
    _flip(tree / "a", 3)  # a hard link to the blob: the blob is damaged too
    assert ds.verify() == ["a"]


def test_local_file_changed_between_add_and_upload_is_refused(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(b"original")
    ds = registry.create("ds")
    ds.add_files(src)
    (src / "f").write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="changed since it was added"):
        ds.upload()
    (src / "f").unlink()
    with pytest.raises(NotFoundError, match="is gone"):
        ds.finalize(auto_upload=True)
    assert registry.get(ds.id, states=None).state is State.UPLOADING


# ------------------------------------------------------ tampered records vs. the file system


def test_record_claiming_another_id_is_refused(
    finalized: Finalized, registry_path: Path, tmp_path: Path
) -> None:
    """Deleting a tampered record never deletes files outside the registry, or other versions."""
    victim_file = tmp_path / "victim.json"
    victim_file.write_text("{}")
    ds = finalized({"a": b"a"})
    other = finalized({"b": b"b"}, name="other")
    for claimed in ("../../victim", other.id):
        set_record_field(registry_path, ds.id, id=claimed)
        reg = dataver.Registry(registry_path)
        with pytest.raises(FormatError, match=f"claims to be version {claimed!r}"):
            reg.delete(ds.id)
        with pytest.raises(FormatError, match="claims to be version"):
            reg.get(ds.id)
    assert victim_file.read_text() == "{}"
    assert dataver.Registry(registry_path).get(other.id).list_files() == ["b"]


def test_record_fields_cannot_steer_storage_keys_outside_the_registry(
    finalized: Finalized, registry_path: Path, tmp_path: Path
) -> None:
    ds = finalized({"a": b"a"})
    # The claim key of a record is datasets/<dataset_id>/versions/<version>.json.
    outside = tmp_path / "outside" / "versions" / "1.0.0.json"
    outside.parent.mkdir(parents=True)
    outside.write_text("{}")
    set_record_field(registry_path, ds.id, dataset_id="../../outside")
    reg = dataver.Registry(registry_path)
    with pytest.raises(UnsafePathError, match="refusing storage key"):
        reg.get(ds.id).name  # noqa: B018 - the property reads the dataset record
    with pytest.raises(UnsafePathError, match="refusing storage key"):
        reg.delete(ds.id)
    assert outside.read_text() == "{}"


@pytest.mark.parametrize("ref", ["../../../../../../tmp/x", "ab/../../cd", "..\\..\\x"])
def test_record_manifest_reference_cannot_leave_the_registry(
    finalized: Finalized, registry_path: Path, ref: str
) -> None:
    ds = finalized({"a": b"a"})
    set_record_field(registry_path, ds.id, manifest=ref)
    with pytest.raises(UnsafePathError, match="refusing storage key"):
        dataver.Registry(registry_path).get(ds.id).list_files()


def test_manifest_with_a_file_that_is_also_a_folder_is_not_materialised(
    finalized: Finalized, registry: dataver.Registry, registry_path: Path, cache_dir: Path
) -> None:
    ds = finalized({"a": b"a"})
    good = next(ds.entries())
    evil = write_manifest(registry.store, "blake3", [good, good._replace(path="a/b")])
    set_record_field(registry_path, ds.id, manifest=evil)
    victim = dataver.Registry(registry_path).get(ds.id)
    assert victim.list_files() == ["a", "a/b"]
    with pytest.raises(FormatError, match="has both a file 'a' and 'a/b'"):
        victim.get_local_copy()
    assert not (cache_dir / "versions" / ds.id).exists()
