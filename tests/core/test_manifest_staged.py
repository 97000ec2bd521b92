"""Staged changes of an Uploading version (dataver.manifest.staged, decision 20).

A small change set is stored as one object named by the record's ``staged`` field; the
manifest is rewritten once, at upload or finalize. Every reader sees the changes applied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import dataver
from dataver import PendingUploadError, State
from dataver.errors import FormatError, StorageError
from dataver.manifest import staged
from dataver.manifest.codec import compress, decode_changes, encode_changes
from dataver.manifest.entry import Entry
from dataver.storage.overlay import MemoryOverlay
from dataver.ui.catalog import Catalog
from dataver.versions.records import VersionRecord

WriteTree = Callable[..., Path]
ReadTree = Callable[[Path], dict[str, bytes]]

PARENT = {f"d{i % 4}/f{i:03d}.txt": f"parent {i}".encode() for i in range(200)}


def _manifests(registry_path: Path) -> set[str]:
    return {p.name for p in (registry_path / "manifests").rglob("*") if p.is_file()}


@pytest.fixture
def parent(finalized: Callable[..., dataver.Dataset]) -> dataver.Dataset:
    return finalized(PARENT)


@pytest.fixture
def edited(tmp_path: Path, write_tree: WriteTree) -> Path:
    """The parent's files with 3 changed and 1 new."""
    files = dict(PARENT)
    files.update({"d0/f000.txt": b"new 0", "d1/f001.txt": b"new 1", "d2/f002.txt": b"new 2"})
    files["d9/extra.txt"] = b"extra"
    return write_tree(tmp_path / "edited", files)


def test_a_small_change_writes_one_object_and_no_shard(
    registry: dataver.Registry,
    registry_path: Path,
    parent: dataver.Dataset,
    edited: Path,
    read_tree: ReadTree,
) -> None:
    child = registry.create("ds", parents=[parent])
    before = _manifests(registry_path)
    assert child.add_files(edited) == 4
    record = child.record
    assert record.manifest == record.base_manifest  # NOTE: the parent's manifest, untouched
    assert record.staged is not None
    assert _manifests(registry_path) - before == {f"{record.staged}.json.zst"}
    assert len(child.list_files()) == 201  # every reader sees the changes applied
    assert sorted(child.list_modified_files()) == ["d0/f000.txt", "d1/f001.txt", "d2/f002.txt"]
    assert child.list_added_files() == ["d9/extra.txt"]

    child.upload()
    assert child.record.staged is None
    assert child.record.manifest != parent.record.manifest
    child.finalize()
    assert read_tree(child.get_local_copy()) == read_tree(edited)
    assert child.stats.modified == 3
    assert child.stats.added == 1


def test_changes_accumulate_later_ones_winning(
    registry: dataver.Registry, parent: dataver.Dataset, tmp_path: Path, write_tree: WriteTree
) -> None:
    child = registry.create("ds", parents=[parent])
    child.add_files(write_tree(tmp_path / "one", {"d0/f000.txt": b"first", "new.txt": b"n"}))
    assert child.remove_files("d1/") == 50
    child.add_files(write_tree(tmp_path / "two", {"d0/f000.txt": b"second"}))
    assert child.remove_files("new.txt") == 1
    assert child.record.staged is not None
    child.finalize(auto_upload=True)
    files = child.list_files()
    assert len(files) == 150
    assert "new.txt" not in files
    assert not any(f.startswith("d1/") for f in files)
    assert (child.get_local_copy() / "d0/f000.txt").read_bytes() == b"second"


def test_a_large_change_set_is_applied_at_once(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree
) -> None:
    files = {f"f{i:05d}": b"%d" % i for i in range(staged.MAX_STAGED + 1)}
    ds = registry.create("big")
    ds.add_files(write_tree(tmp_path / "big", files))
    assert ds.record.staged is None
    assert len(ds.list_files()) == staged.MAX_STAGED + 1


def test_finalize_refuses_staged_pending_files_and_applies_the_rest(
    registry: dataver.Registry, parent: dataver.Dataset, edited: Path
) -> None:
    child = registry.create("ds", parents=[parent])
    child.add_files(edited)
    with pytest.raises(PendingUploadError, match="4 files not uploaded"):
        child.finalize()
    assert child.state is State.UPLOADING
    assert child.record.staged is not None

    removal = registry.create("ds", parents=[parent])
    removal.remove_files("d3/")
    removal.finalize()  # NOTE: nothing to upload: the staged removal is applied here
    assert removal.record.staged is None
    assert len(removal.list_files()) == 150
    assert removal.stats.removed == 50


def test_another_process_resumes_a_staged_version(
    registry_path: Path, parent: dataver.Dataset, edited: Path, read_tree: ReadTree
) -> None:
    child = dataver.Registry(registry_path).create("ds", parents=[parent])
    child.add_files(edited)
    # NOTE: a new Registry reads everything from the folder, like a retried task would.
    resumed = dataver.Registry(registry_path).get(child.id, states=None)
    assert resumed.record.staged == child.record.staged
    assert len(resumed.list_files()) == 201
    resumed.upload()
    resumed.finalize()
    assert read_tree(resumed.get_local_copy()) == read_tree(edited)


def test_viewing_staged_changes_writes_nothing(
    registry: dataver.Registry, registry_path: Path, parent: dataver.Dataset, edited: Path
) -> None:
    child = registry.create("ds", parents=[parent])
    child.add_files(edited)
    before = _manifests(registry_path)
    catalog = Catalog(registry)
    assert catalog.files(child.id, "", 0, 1000).total == 201
    assert {i.name for i in catalog.tree(child.id, "", 0, 100).items} >= {"d9"}
    assert set(catalog.diff(child.id, None, 100).added) == {"d9/extra.txt"}
    assert _manifests(registry_path) == before


def test_gc_keeps_staged_changes(
    registry: dataver.Registry,
    registry_path: Path,
    parent: dataver.Dataset,
    edited: Path,
    read_tree: ReadTree,
) -> None:
    child = registry.create("ds", parents=[parent])
    child.add_files(edited)
    registry.gc(dry_run=False, grace_seconds=0)
    assert f"{child.record.staged}.json.zst" in _manifests(registry_path)
    child.finalize(auto_upload=True)
    assert read_tree(child.get_local_copy()) == read_tree(edited)


def test_fsck_flags_staged_changes_in_a_final_version_and_damaged_ones(
    registry: dataver.Registry, parent: dataver.Dataset, edited: Path
) -> None:
    child = registry.create("ds", parents=[parent])
    child.add_files(edited)
    ref = child.record.staged
    assert ref is not None
    assert registry.fsck().ok
    key = f"versions/{parent.id}.json"
    record = VersionRecord.from_bytes(registry.store.read(key))
    registry.store.write(key, record.model_copy(update={"staged": ref}).to_bytes())
    kinds = {p.kind for p in registry.fsck().problems}
    assert kinds == {"staged-in-final"}
    registry.store.write(f"manifests/{ref[:2]}/{ref}.json.zst", b"garbage")
    assert {p.kind for p in registry.fsck().problems} == {"staged-in-final", "corrupt-manifest"}


@pytest.mark.parametrize(
    ("entries", "removed", "message"),
    [
        ([Entry("a", 1, "0" * 64)], ["a"], "both set and removed"),
        ([], ["b", "a"], "not strictly sorted"),
        ([], ["../etc/passwd"], "unsafe|\\.\\."),
        ([], ["/abs"], "absolute|unsafe"),
    ],
)
def test_malformed_changes_are_refused(
    entries: list[Entry], removed: list[str], message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        decode_changes(encode_changes(entries, removed), "test")


def test_changes_round_trip_and_need_their_removed_list() -> None:
    entries = [Entry("a/x", 3, "a" * 64, source="/data/x"), Entry("b", 0, None, url="file:///b")]
    assert decode_changes(encode_changes(entries, ["c"]), "t") == (entries, ["c"])
    body = b'{"format":1,"kind":"dataver.changes","count":0,"path":[],"size":[],"hash":[]}'
    with pytest.raises(FormatError, match="removed"):
        decode_changes(compress(body), "t")


def test_the_overlay_never_writes_below(registry: dataver.Registry) -> None:
    overlay = MemoryOverlay(registry.store)
    overlay.write("manifests/zz/test", b"kept in memory")
    assert overlay.read("manifests/zz/test") == b"kept in memory"
    assert overlay.read_range("manifests/zz/test", 5, 2) == b"in"
    assert not registry.store.exists("manifests/zz/test")
    with pytest.raises(StorageError):
        overlay.delete("manifests/zz/test")
