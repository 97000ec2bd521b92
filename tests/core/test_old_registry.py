"""A registry written by dataver 0.1.0 before many writers existed (tests/core/data): read it,
build children of its versions (with and without writers), check and collect it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import dataver

OLD = Path(__file__).parent / "data" / "registry-format1-v0.1.0"
PARENT = "63e25e85da044710a3c83ec489079df4"
CHILD = "fc8a9da836204def8ab2fc3a9e8dc0c0"


@pytest.fixture
def old(tmp_path: Path) -> dataver.Registry:
    copy = tmp_path / "old-registry"
    shutil.copytree(OLD, copy)
    return dataver.Registry(copy)


def test_old_versions_read_as_before(old: dataver.Registry) -> None:
    parent, child = old.get(PARENT), old.get(CHILD)
    assert parent.state is dataver.State.PUBLISHED
    assert child.state is dataver.State.FINAL
    assert sorted(child.list_files()) == [
        "a/f2.txt",
        "a/f3.txt",
        "b/g1.txt",
        "b/g2.txt",
        "b/g3.txt",
    ]
    assert (child.get_local_copy() / "b/g2.txt").read_text() == "b2\n"
    assert child.verify() == []
    assert old.fsck().ok


def test_children_of_old_versions_build_as_before(old: dataver.Registry, tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "n.txt").write_text("new")
    one = old.create("legacy", project="old", parents=[CHILD])
    one.add_files(folder, dataset_path="c")
    one.finalize(auto_upload=True)
    assert one.stats.files == 6
    many = old.create("legacy", project="old", parents=[CHILD])
    many.add_files(folder, dataset_path="w0", writer="w0")
    many.remove_files("a/*", writer="w1")
    many.finalize()
    assert sorted(many.list_files()) == ["b/g1.txt", "b/g2.txt", "b/g3.txt", "w0/n.txt"]
    old.gc(dry_run=False, grace_seconds=0)
    for version in (old.get(PARENT), old.get(CHILD), one, many):
        old.backend.cache.drop_version(version.id)
        copy = version.get_local_copy()
        assert all((copy / path).is_file() for path in version.list_files())
        assert version.verify() == []


def test_new_versions_of_an_old_dataset_chunk_their_large_files(
    old: dataver.Registry, tmp_path: Path
) -> None:
    """Chunks came after this registry was written: its versions stay as they are, a child
    stores a large file as chunks (by many writers too), and gc keeps old and new."""
    import random

    folder = tmp_path / "big"
    folder.mkdir()
    data = random.Random(0).randbytes(9 << 20)  # NOTE: over the default 8 MiB threshold
    (folder / "big.bin").write_bytes(data)
    one = old.create("legacy", project="old", parents=[CHILD])
    one.add_files(folder, writer="w0")
    one.finalize()
    entry = one.content().get("big.bin")
    assert entry is not None
    assert entry.is_chunked
    edited = data[:100] + b"edit" + data[100:]
    (folder / "big.bin").write_bytes(edited)
    two = old.create("legacy", project="old", parents=[one])
    two.sync_folder(folder)
    two.finalize(auto_upload=True)
    assert two.stats.stored_bytes < 6 << 20
    old.gc(dry_run=False, grace_seconds=0)
    assert old.fsck(grace_seconds=0).ok
    for version, expected in ((one, data), (two, edited)):
        old.backend.cache.drop_version(version.id)
        assert (version.get_local_copy() / "big.bin").read_bytes() == expected
    assert (old.get(CHILD).get_local_copy() / "b/g2.txt").read_text() == "b2\n"
