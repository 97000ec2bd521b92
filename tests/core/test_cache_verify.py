"""The local cache (basic get_local_copy) and verify() across states."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import dataver

ReadTree = Callable[[Path], dict[str, bytes]]
Finalized = Callable[..., dataver.Dataset]


def test_second_get_needs_only_the_marker(
    finalized: Finalized, registry_path: Path, cache_dir: Path, read_tree: ReadTree
) -> None:
    files = {"a": b"a" * 10, "s/b": b"b" * 20}
    ds = finalized(files)
    tree = ds.get_local_copy()
    assert (cache_dir / "versions" / f"{ds.id}.complete").is_file()
    assert (cache_dir / "CACHEDIR.TAG").is_file()
    # Remove every stored byte: a second get must not need the registry's content.
    shutil.rmtree(registry_path / "packs")
    assert ds.get_local_copy() == tree
    assert dataver.Registry(registry_path).get(ds.id).get_local_copy() == tree
    assert read_tree(tree) == files


def test_cached_blobs_serve_other_versions(
    finalized: Finalized,
    registry: dataver.Registry,
    registry_path: Path,
    cache_dir: Path,
    read_tree: ReadTree,
) -> None:
    v1 = finalized({"a": b"shared a", "b": b"shared b"})
    v1.get_local_copy()
    v2 = registry.create("ds", parents=[v1])
    v2.remove_files("b")
    v2.finalize()
    shutil.rmtree(registry_path / "packs")  # only the cache holds the bytes now
    assert read_tree(v2.get_local_copy()) == {"a": b"shared a"}
    blobs = sorted(p.name for p in (cache_dir / "blobs").rglob("*") if p.is_file())
    assert len(blobs) == 2


def test_identical_files_share_one_blob(finalized: Finalized, cache_dir: Path) -> None:
    ds = finalized({"x/1": b"same", "y/2": b"same", "z": b"other"})
    tree = ds.get_local_copy()
    assert (tree / "x" / "1").stat().st_ino == (tree / "y" / "2").stat().st_ino
    assert len([p for p in (cache_dir / "blobs").rglob("*") if p.is_file()]) == 2


def test_verify_sound_version(finalized: Finalized) -> None:
    ds = finalized({"a": b"a", "b/c": b"c" * 3000})
    assert ds.verify() == []
    ds.get_local_copy()
    assert ds.verify() == []  # registry and cached tree


def test_verify_of_an_uploading_version(registry: dataver.Registry, tmp_path: Path) -> None:
    """Pending content is checked against the writer's files, not reported as corrupt."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"aaa")
    (src / "b").write_bytes(b"bbb")
    ds = registry.create("ds")
    ds.add_files(src)
    assert ds.verify() == []
    (src / "b").write_bytes(b"BBB")
    assert ds.verify() == ["b"]
    (src / "b").unlink()
    assert ds.verify() == ["b"]
    (src / "b").write_bytes(b"bbb")
    ds.upload()
    (src / "a").write_bytes(b"changed after upload")  # no longer matters: it is stored
    assert ds.verify() == []


@pytest.mark.parametrize("state", ["aborted", "failed"])
def test_verify_refuses_ended_versions(registry: dataver.Registry, state: str) -> None:
    ds = registry.create("ds")
    ds.abort() if state == "aborted" else ds.fail("x")
    with pytest.raises(dataver.InvalidTransitionError, match=f"cannot verify .* it is {state}"):
        ds.verify()
