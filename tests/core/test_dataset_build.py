"""Building versions and reading them back: behaviours 1-6 of issue 2 and add_files semantics."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import dataver
from dataver import InvalidTransitionError, NotFoundError, State, UnsafePathError, ValidationError

ReadTree = Callable[[Path], dict[str, bytes]]
WriteTree = Callable[..., Path]
ContentFiles = Callable[[Path], set[str]]


def stored_size(registry: dataver.Registry, keys: set[str]) -> int:
    return sum(registry.store.size(key) for key in keys)


@pytest.fixture(params=["local", "s3"])
def registry_url(request: pytest.FixtureRequest, registry_path: Path) -> str:
    """Every behaviour runs on a local folder and on the moto S3 server (issue 4)."""
    if request.param == "local":
        return str(registry_path)
    url: str = request.getfixturevalue("s3_url")
    return url


@pytest.fixture
def registry(registry_url: str) -> dataver.Registry:
    return dataver.Registry(registry_url)


# --------------------------------------------------------------------- behaviour 1


def test_round_trip_three_nested_files(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, read_tree: ReadTree
) -> None:
    files = {
        "top.txt": b"top level\n",
        "a/b/deep.bin": bytes(range(256)) * 3,
        "a/mid.csv": b"x,y\n1,2\n",
    }
    src = write_tree(tmp_path / "src", files)
    ds = registry.create("round-trip")
    assert ds.state is State.UPLOADING
    assert ds.add_files(src) == 3
    with pytest.raises(InvalidTransitionError, match=r"cannot read version .* it is uploading"):
        ds.get_local_copy()
    ds.upload()
    ds.finalize()
    assert ds.state is State.FINAL
    assert ds.version == "1.0.0"
    assert ds.name == "round-trip"
    assert ds.project == "default"
    assert ds.parents == ()
    assert ds.list_files() == ["a/b/deep.bin", "a/mid.csv", "top.txt"]
    local = ds.get_local_copy()
    assert read_tree(local) == files
    # The same, through a fresh registry handle (another process would see exactly this).
    again = dataver.Registry(registry.url).get(name="round-trip")
    assert again.id == ds.id
    assert read_tree(again.get_local_copy()) == files
    assert ds.stats.files == 3
    assert ds.stats.logical_bytes == sum(map(len, files.values()))
    assert ds.stats.added == 3
    assert ds.verify() == []


def test_local_copy_is_read_only_and_reused(
    finalized: Callable[..., dataver.Dataset], cache_dir: Path
) -> None:
    ds = finalized({"a.txt": b"a", "d/b.txt": b"b"})
    first = ds.get_local_copy()
    assert first.is_relative_to(cache_dir)
    mode = stat.S_IMODE((first / "d" / "b.txt").stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert ds.get_local_copy() == first
    assert dataver.Registry(ds.registry.url).get(ds.id).get_local_copy() == first


def test_mutable_local_copy(
    finalized: Callable[..., dataver.Dataset], tmp_path: Path, read_tree: ReadTree
) -> None:
    files = {"a.txt": b"a", "d/b.txt": b"b"}
    ds = finalized(files)
    target = tmp_path / "work"
    out = ds.get_mutable_local_copy(target)
    assert out == target.absolute()
    assert read_tree(out) == files
    (out / "a.txt").write_bytes(b"changed")  # writable, and not linked to the cache
    assert os.stat(out / "a.txt").st_nlink == 1
    assert read_tree(ds.get_local_copy()) == files
    with pytest.raises(ValidationError, match="not empty"):
        ds.get_mutable_local_copy(target)
    (out / "extra").write_bytes(b"x")
    assert read_tree(ds.get_mutable_local_copy(target, overwrite=True)) == files


# --------------------------------------------------------------------- behaviour 2


@pytest.mark.parametrize("pack_threshold", [None, 0], ids=["packed", "single-objects"])
def test_differential_child_stores_only_new_bytes(
    registry_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_tree: WriteTree,
    read_tree: ReadTree,
    content_files: ContentFiles,
    pack_threshold: int | None,
) -> None:
    if pack_threshold is not None:
        monkeypatch.setenv("DATAVER_PACK_THRESHOLD", str(pack_threshold))
    registry = dataver.Registry(registry_url)
    parent_files = {"a": b"A" * 10, "sub/b": b"B" * 200, "sub/c": b"C" * 3000}
    src = write_tree(tmp_path / "parent", parent_files)
    parent = registry.create("ds")
    parent.add_files(src)
    parent.finalize(auto_upload=True)
    assert parent.stats.stored_bytes == 3210
    before = content_files(registry)

    child = registry.create("ds", parents=[parent])
    new_d, new_c = b"D" * 40_000, b"c" * 500
    changes = write_tree(tmp_path / "change", {"d": new_d, "sub/c": new_c})
    assert child.add_files(changes / "d") == 1
    assert child.add_files(changes / "sub" / "c", dataset_path="sub") == 1
    assert child.remove_files("sub/b") == 1
    assert child.upload() == len(new_d) + len(new_c)
    child.finalize()

    diff = child.diff()
    assert diff.added == ("d",)
    assert diff.removed == ("sub/b",)
    assert diff.modified == ("sub/c",)
    assert diff.renamed == ()
    assert child.list_added_files() == ["d"]
    assert child.list_removed_files() == ["sub/b"]
    assert child.list_modified_files() == ["sub/c"]
    assert child.stats.stored_bytes == len(new_d) + len(new_c) == 40_500
    assert (child.stats.added, child.stats.removed, child.stats.modified) == (1, 1, 1)
    assert child.stats.files == 3
    assert child.stats.logical_bytes == 10 + 500 + 40_000

    new_keys = content_files(registry) - before
    assert stored_size(registry, new_keys) == 40_500
    assert len(new_keys) == (1 if pack_threshold is None else 2)
    assert read_tree(child.get_local_copy()) == {"a": b"A" * 10, "sub/c": new_c, "d": new_d}
    assert read_tree(parent.get_local_copy()) == parent_files
    assert child.lineage() == {child.id: [parent.id], parent.id: []}
    assert child.version == "1.0.1"


# --------------------------------------------------------------------- behaviour 3


def test_readding_an_unchanged_tree_stores_nothing(
    registry: dataver.Registry,
    registry_url: str,
    tmp_path: Path,
    write_tree: WriteTree,
    content_files: ContentFiles,
) -> None:
    files = {f"f{i}/{j}.dat": f"{i}-{j}".encode() * (i + 1) for i in range(3) for j in range(4)}
    files["big.bin"] = os.urandom(2 << 20)  # above the pack threshold: a single object
    src = write_tree(tmp_path / "src", files)
    parent = registry.create("ds")
    assert parent.add_files(src) == 13
    assert parent.add_files(src) == 0  # same version, same files: nothing changes
    parent.finalize(auto_upload=True)
    before = content_files(registry)
    assert len(before) == 2  # one pack of the small files, one object

    child = registry.create("ds", parents=[parent])
    assert child.add_files(src) == 0
    assert child.sync_folder(src) == (0, 0, 0)
    assert child.upload() == 0
    child.finalize()
    assert content_files(registry) == before
    assert child.stats.added == 0
    assert child.stats.modified == 0
    assert child.stats.removed == 0
    assert child.stats.stored_bytes == 0
    assert child.diff().is_empty
    assert child.record.manifest == parent.record.manifest  # the very same manifest


def test_readding_after_touch_only_is_not_a_change(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree
) -> None:
    """A new mtime with the same bytes is re-hashed, found identical, and not counted."""
    src = write_tree(tmp_path / "src", {"a": b"same", "b": b"bytes"})
    parent = registry.create("ds")
    parent.add_files(src)
    parent.finalize(auto_upload=True)
    os.utime(src / "a", ns=(1_000_000_000, 1_000_000_000))
    child = registry.create("ds", parents=[parent])
    assert child.add_files(src) == 0
    assert child.upload() == 0


# --------------------------------------------------------------------- behaviour 4


@pytest.mark.parametrize(("order", "y"), [((1, 2), b"2"), ((2, 1), b"1")])
def test_two_parents_later_parent_wins(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    read_tree: ReadTree,
    order: tuple[int, int],
    y: bytes,
) -> None:
    p1 = finalized({"x": b"1", "y": b"1"}, name="p1")
    p2 = finalized({"y": b"2", "z": b"2"}, name="p2")
    parents = {1: p1, 2: p2}
    first, second = (parents[i] for i in order)
    child = registry.create("merged", parents=[first, second.id])  # Dataset or id
    assert child.parents == (first.id, second.id)
    assert child.list_files() == ["x", "y", "z"]
    assert child.upload() == 0
    child.finalize()
    assert read_tree(child.get_local_copy()) == {"x": b"1", "y": y, "z": b"2"}
    assert child.stats.stored_bytes == 0
    assert child.lineage() == {child.id: [first.id, second.id], p1.id: [], p2.id: []}


def test_a_parent_listed_twice_is_refused(finalized: Callable[..., dataver.Dataset]) -> None:
    p = finalized({"x": b"1"})
    with pytest.raises(ValidationError, match="listed twice"):
        p.registry.create("c", parents=[p, p.id])


# --------------------------------------------------------------------- behaviour 5


@pytest.mark.parametrize("pack_threshold", [None, 0], ids=["packed", "single-objects"])
def test_rename_or_move_uploads_nothing_and_diff_reports_it(
    registry_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_tree: WriteTree,
    read_tree: ReadTree,
    content_files: ContentFiles,
    pack_threshold: int | None,
) -> None:
    if pack_threshold is not None:
        monkeypatch.setenv("DATAVER_PACK_THRESHOLD", str(pack_threshold))
    registry = dataver.Registry(registry_url)
    payload, other = os.urandom(5000), b"unchanged"
    src = write_tree(tmp_path / "src", {"a/x.bin": payload, "keep.txt": other})
    parent = registry.create("ds")
    parent.add_files(src)
    parent.finalize(auto_upload=True)
    before = content_files(registry)

    child = registry.create("ds", parents=[parent])
    moved = write_tree(tmp_path / "moved", {"renamed.bin": payload})
    assert child.remove_files("a/x.bin") == 1
    assert child.add_files(moved / "renamed.bin", dataset_path="b/c") == 1
    assert child.upload() == 0
    child.finalize()

    assert content_files(registry) == before
    diff = child.diff()
    assert diff.renamed == (("a/x.bin", "b/c/renamed.bin"),)
    assert (diff.added, diff.removed, diff.modified) == ((), (), ())
    assert child.stats.renamed == 1
    assert child.stats.stored_bytes == 0
    assert child.list_added_files() == ["b/c/renamed.bin"]
    assert child.list_removed_files() == ["a/x.bin"]
    assert read_tree(child.get_local_copy()) == {"b/c/renamed.bin": payload, "keep.txt": other}
    assert child.verify() == []


def test_copy_with_same_bytes_uploads_nothing(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    registry_url: str,
    tmp_path: Path,
    write_tree: WriteTree,
    read_tree: ReadTree,
    content_files: ContentFiles,
) -> None:
    parent = finalized({"orig.txt": b"copy me"})
    before = content_files(registry)
    child = registry.create("ds", parents=[parent])
    child.add_files(write_tree(tmp_path / "c", {"copy.txt": b"copy me"}))
    assert child.upload() == 0
    child.finalize()
    assert content_files(registry) == before
    assert child.diff().added == ("copy.txt",)
    assert read_tree(child.get_local_copy()) == {"orig.txt": b"copy me", "copy.txt": b"copy me"}


# --------------------------------------------------------------------- behaviour 6


def test_sync_folder_removes_adds_and_modifies(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    tmp_path: Path,
    write_tree: WriteTree,
    read_tree: ReadTree,
) -> None:
    parent = finalized({"a": b"a", "b": b"b", "c": b"c"})
    folder = {"a": b"a", "c": b"c changed", "d": b"d new"}
    local = write_tree(tmp_path / "folder", folder)
    child = registry.create("ds", parents=[parent])
    assert child.sync_folder(local) == (1, 1, 1)
    assert child.sync_folder(local) == (0, 0, 0)
    assert child.upload() == len(b"c changed") + len(b"d new")
    child.finalize()
    assert read_tree(child.get_local_copy()) == folder
    assert child.diff().as_dict() == {
        "added": ["d"],
        "removed": ["b"],
        "modified": ["c"],
        "renamed": [],
    }


def test_sync_folder_under_a_dataset_path_leaves_the_rest_alone(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    tmp_path: Path,
    write_tree: WriteTree,
    read_tree: ReadTree,
) -> None:
    parent = finalized({"keep/x": b"x", "part/old": b"old", "part/same": b"same"})
    local = write_tree(tmp_path / "part", {"same": b"same", "new": b"new"})
    child = registry.create("ds", parents=[parent])
    assert child.sync_folder(local, dataset_path="part") == (1, 1, 0)
    child.finalize(auto_upload=True)
    assert read_tree(child.get_local_copy()) == {
        "keep/x": b"x",
        "part/new": b"new",
        "part/same": b"same",
    }


def test_sync_folder_of_a_missing_folder(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("ds")
    with pytest.raises(NotFoundError, match="no such folder"):
        ds.sync_folder(tmp_path / "nope")


# --------------------------------------------------------------------- add_files semantics


def test_add_files_layout_rules(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree
) -> None:
    src = write_tree(
        tmp_path / "src",
        {"one.csv": b"1", "two.txt": b"2", "nested/three.csv": b"3", "nested/deep/four.csv": b"4"},
    )
    ds = registry.create("ds")
    assert ds.add_files(src / "one.csv") == 1  # a file: by its name
    assert ds.add_files(src / "two.txt", dataset_path="/docs/") == 1  # prefix normalised
    assert ds.add_files(src / "nested", dataset_path="n") == 2  # a folder: its contents
    assert ds.add_files(src, dataset_path="csv-only", wildcard="*.csv") == 3
    assert ds.add_files(src, dataset_path="flat", recursive=False) == 2
    assert ds.add_files(src, dataset_path="multi", wildcard=["two.*", "four.*"]) == 2
    assert ds.list_files() == [
        "csv-only/nested/deep/four.csv",
        "csv-only/nested/three.csv",
        "csv-only/one.csv",
        "docs/two.txt",
        "flat/one.csv",
        "flat/two.txt",
        "multi/nested/deep/four.csv",
        "multi/two.txt",
        "n/deep/four.csv",
        "n/three.csv",
        "one.csv",
    ]
    assert ds.list_files("*.txt") == ["docs/two.txt", "flat/two.txt", "multi/two.txt"]
    # Changing one file's bytes counts one change.
    (src / "one.csv").write_bytes(b"1 changed")
    assert ds.add_files(src / "one.csv") == 1


def test_add_files_errors(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("ds")
    with pytest.raises(NotFoundError, match="no such file or folder"):
        ds.add_files(tmp_path / "missing")
    (tmp_path / "f").write_bytes(b"x")
    for bad in ("..", "../outside", "a/../../b"):
        with pytest.raises(UnsafePathError):
            ds.add_files(tmp_path / "f", dataset_path=bad)
    assert ds.list_files() == []


def test_empty_version_round_trips(registry: dataver.Registry, read_tree: ReadTree) -> None:
    ds = registry.create("empty")
    ds.finalize()
    assert ds.list_files() == []
    assert read_tree(ds.get_local_copy()) == {}
    assert ds.stats.files == 0


def test_chain_of_versions_lineage(
    finalized: Callable[..., dataver.Dataset], read_tree: ReadTree
) -> None:
    v1 = finalized({"a": b"1"})
    v2 = finalized({"b": b"2"}, parents=[v1])
    v3 = finalized({"c": b"3"}, parents=[v2])
    assert [v.version for v in (v1, v2, v3)] == ["1.0.0", "1.0.1", "1.0.2"]
    assert v3.lineage() == {v3.id: [v2.id], v2.id: [v1.id], v1.id: []}
    assert read_tree(v3.get_local_copy()) == {"a": b"1", "b": b"2", "c": b"3"}
    assert v3.diff(v1).added == ("b", "c")
    assert v1.diff(v3.id).removed == ("b", "c")


def test_create_records_annotations(registry: dataver.Registry) -> None:
    ds = registry.create(
        "ds",
        project="proj",
        tags=["a", "b"],
        description="desc",
        metadata={"rows": 10, "nested": {"k": [1, 2]}},
    )
    fresh = registry.get(ds.id, states=None)
    assert (fresh.project, fresh.name) == ("proj", "ds")
    assert fresh.tags == ("a", "b")
    assert fresh.description == "desc"
    assert fresh.metadata == {"rows": 10, "nested": {"k": [1, 2]}}
    assert fresh.uri == "dataver://proj/ds@1.0.0"
    assert fresh.to_dict()["state"] == "uploading"


# --------------------------------------------------------------------- file or folder


def test_a_path_cannot_be_both_a_file_and_a_folder(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree
) -> None:
    src = write_tree(tmp_path / "src", {"a": b"file a", "d/b": b"b", "e/a/x": b"x"})
    ds = registry.create("ds")
    ds.add_files(src / "a")
    manifest = ds.record.manifest
    with pytest.raises(ValidationError, match="cannot have both 'a/b' and 'a'") as info:
        ds.add_files(src / "d", dataset_path="a")  # would put a/b under the file a
    assert (info.value.path, info.value.conflict) == ("a/b", "a")
    with pytest.raises(ValidationError, match="cannot have both 'a/x' and 'a'"):
        ds.add_files(src / "e")  # e/a/x lands at a/x
    with pytest.raises(ValidationError, match="cannot have both"):
        ds.add_external_files((src / "d").as_uri(), dataset_path="a")
    assert ds.record.manifest == manifest
    assert ds.list_files() == ["a"]

    other = registry.create("other")
    other.add_files(src / "d", dataset_path="a")
    with pytest.raises(ValidationError, match="cannot have both 'a' and 'a/b'"):
        other.add_files(src / "a")
    assert other.remove_files("a") == 1
    assert other.add_files(src / "a") == 1  # once the folder is gone, the file fits
    assert other.list_files() == ["a"]


def test_sync_folder_may_turn_a_file_into_a_folder_and_back(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    tmp_path: Path,
    write_tree: WriteTree,
    read_tree: ReadTree,
) -> None:
    parent = finalized({"a": b"file", "keep": b"k"})
    as_folder = write_tree(tmp_path / "v2", {"a/b": b"b", "a/c": b"c", "keep": b"k"})
    child = registry.create("ds", parents=[parent])
    assert child.sync_folder(as_folder) == (1, 2, 0)
    child.finalize(auto_upload=True)
    assert read_tree(child.get_local_copy()) == read_tree(as_folder)

    as_file = write_tree(tmp_path / "v3", {"a": b"file again", "keep": b"k"})
    grandchild = registry.create("ds", parents=[child])
    assert grandchild.sync_folder(as_file) == (2, 1, 0)
    grandchild.finalize(auto_upload=True)
    assert read_tree(grandchild.get_local_copy()) == read_tree(as_file)


def test_parents_disagreeing_on_file_or_folder_cannot_be_merged(
    finalized: Callable[..., dataver.Dataset], registry: dataver.Registry
) -> None:
    p1 = finalized({"a": b"file"}, name="p1")
    p2 = finalized({"a/b": b"inside"}, name="p2")
    with pytest.raises(ValidationError, match="'a' is a file in one and a folder"):
        registry.create("child", parents=[p1, p2])
    assert registry.list(name="child") == []


def test_symlinks_outside_are_refused_unless_followed(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, read_tree: ReadTree
) -> None:
    """The policy in full is in test_symlinks.py; here it runs on every registry."""
    outside = write_tree(tmp_path / "outside", {"target.txt": b"linked", "dir/x": b"x"})
    src = write_tree(tmp_path / "src", {"real.txt": b"real"})
    (src / "link.txt").symlink_to(outside / "target.txt")
    (src / "linkdir").symlink_to(outside / "dir", target_is_directory=True)
    ds = registry.create("ds")
    with pytest.raises(ValidationError, match="2 symbolic links lead outside"):
        ds.add_files(src)
    assert ds.add_files(src, symlinks="follow") == 3
    ds.finalize(auto_upload=True)
    assert read_tree(ds.get_local_copy()) == {
        "link.txt": b"linked",
        "linkdir/x": b"x",
        "real.txt": b"real",
    }


def test_unicode_and_spaces_in_paths_round_trip(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, read_tree: ReadTree
) -> None:
    files = {"ünï cödé/日本.txt": b"jp", "with space/a b.csv": b"1", "emoji-🙂.bin": b"e"}
    ds = registry.create("ds")
    assert ds.add_files(write_tree(tmp_path / "src", files)) == 3
    ds.finalize(auto_upload=True)
    assert read_tree(ds.get_local_copy()) == files
    assert ds.list_files() == sorted(files)


def test_upload_validates_max_workers(registry: dataver.Registry, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    ds = registry.create("ds")
    ds.add_files(tmp_path / "f")
    with pytest.raises(ValidationError, match="max_workers must be >= 1"):
        ds.upload(max_workers=0)
    assert ds.upload(max_workers=1) == 1


def test_upload_renews_the_lease_while_it_runs(
    registry_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_tree: WriteTree,
    read_tree: ReadTree,
) -> None:
    """A short lease and a heart-beat thread racing the uploader: no conflict, nothing lost."""
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "0.03")
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "0")
    files = {f"f{i:02d}.bin": os.urandom(50_000) for i in range(40)}
    reg = dataver.Registry(registry_url)
    ds = reg.create("ds")
    ds.add_files(write_tree(tmp_path / "src", files))
    before = ds.record.lease
    assert before is not None
    assert ds.upload(max_workers=2) == 40 * 50_000
    after = reg.get(ds.id, states=None).record.lease
    assert after is not None
    assert after.expires_at > before.expires_at
    assert after.owner == before.owner
    ds.finalize()
    assert read_tree(ds.get_local_copy()) == files
