"""Squash (behaviour 11): one parentless Final version, V3's exact tree, no content re-uploaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import dataver
from dataver import InvalidTransitionError, State, ValidationError

ReadTree = Callable[[Path], dict[str, bytes]]
ContentFiles = Callable[[Path], set[str]]


@pytest.fixture
def chain(
    registry: dataver.Registry, tmp_path: Path, write_tree: Callable[..., Path]
) -> list[dataver.Dataset]:
    """V1 <- V2 <- V3: V2 modifies b and adds d; V3 removes c and renames d to e."""
    v1 = registry.create("ds")
    v1.add_files(write_tree(tmp_path / "v1", {"a": b"a1", "b": b"b1", "c": b"c1"}))
    v1.finalize(auto_upload=True)
    v2 = registry.create("ds", parents=[v1])
    v2.add_files(write_tree(tmp_path / "v2", {"b": b"b2", "d": b"d2"}))
    v2.finalize(auto_upload=True)
    v3 = registry.create("ds", parents=[v2])
    assert v3.remove_files("c") == 1
    assert v3.remove_files("d") == 1
    v3.add_files(write_tree(tmp_path / "v3", {"e": b"d2"}))
    v3.finalize(auto_upload=True)
    return [v1, v2, v3]


V3_TREE = {"a": b"a1", "b": b"b2", "e": b"d2"}


def test_squash_gives_a_parentless_final_version_with_v3s_tree(
    registry: dataver.Registry,
    registry_path: Path,
    chain: list[dataver.Dataset],
    read_tree: ReadTree,
    content_files: ContentFiles,
) -> None:
    v1, v2, v3 = chain
    assert read_tree(v3.get_local_copy()) == V3_TREE
    before = content_files(registry_path)

    flat = registry.squash([v1, v2.id, v3], name="flat")
    assert flat.state is State.FINAL
    assert flat.parents == ()
    assert (flat.project, flat.name, flat.version) == ("default", "flat", "1.0.0")
    assert flat.lineage() == {flat.id: []}
    assert flat.list_files() == ["a", "b", "e"]  # c and d stay removed
    assert read_tree(flat.get_local_copy()) == V3_TREE
    assert content_files(registry_path) == before  # nothing re-uploaded
    assert flat.stats.stored_bytes == 0
    assert flat.stats.files == 3
    assert flat.provenance == {"squashed_from": [v1.id, v2.id, v3.id]}
    assert flat.verify() == []
    assert registry.get(name="flat").id == flat.id


def test_squashed_version_survives_deleting_the_chain_and_gc(
    registry: dataver.Registry,
    registry_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chain: list[dataver.Dataset],
    read_tree: ReadTree,
) -> None:
    v1, v2, v3 = chain
    flat = registry.squash([v1, v2, v3], name="flat")
    for ds in (v3, v2, v1):
        registry.delete(ds.id)
    plan = registry.gc(dry_run=False, grace_seconds=0)
    assert plan.keys  # V1's "c", V2's old b... are gone now
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "fresh-cache"))
    fresh = dataver.Registry(registry_path).get(flat.id)
    assert fresh.verify() == []
    assert read_tree(fresh.get_local_copy()) == V3_TREE


def test_squash_into_the_same_dataset_takes_the_next_version(
    registry: dataver.Registry, chain: list[dataver.Dataset]
) -> None:
    flat = registry.squash(chain, name="ds")
    assert flat.version == "1.0.3"
    assert registry.get(name="ds").id == flat.id


def test_squash_of_unrelated_versions_merges_later_wins(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    registry_path: Path,
    read_tree: ReadTree,
    content_files: ContentFiles,
) -> None:
    left = finalized({"x": b"left", "l": b"l"}, name="left", project="p")
    right = finalized({"x": b"right", "r": b"r"}, name="right")
    before = content_files(registry_path)
    merged = registry.squash([left, right], name="merged")
    assert merged.project == "p"  # the first version's project by default
    assert read_tree(merged.get_local_copy()) == {"l": b"l", "r": b"r", "x": b"right"}
    other = registry.squash([right, left], name="merged", project="q")
    assert read_tree(other.get_local_copy()) == {"l": b"l", "r": b"r", "x": b"left"}
    assert content_files(registry_path) == before


def test_squash_refusals(registry: dataver.Registry, chain: list[dataver.Dataset]) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        registry.squash([], name="x")
    uploading = registry.create("u")
    with pytest.raises(InvalidTransitionError, match=r"cannot squash .* it is uploading"):
        registry.squash([chain[0], uploading], name="x")
    assert [d.name for d in registry.list(name="x")] == []
