"""Delete and garbage collection (behaviour 10): refusals, dry run, what is kept, what is freed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import dataver
from dataver import HasChildrenError, InvalidTransitionError, State, VersionNotFoundError
from dataver.manifest.reader import Manifest
from dataver.objects.upload import upload_pending

ContentFiles = Callable[[Path], set[str]]
Finalized = Callable[..., dataver.Dataset]


def all_keys(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for top in ("objects", "packs", "manifests", "staging")
        if (root / top).is_dir()
        for p in (root / top).rglob("*")
        if p.is_file() and not p.name.endswith(".tmp")
    }


def test_delete_a_parent_with_live_children_is_refused(
    finalized: Finalized, registry: dataver.Registry
) -> None:
    parent = finalized({"a": b"a"})
    child = finalized({"b": b"b"}, parents=[parent])
    uploading = registry.create("other", parents=[parent])
    for force in (False, True):
        with pytest.raises(HasChildrenError, match="is a parent of 2 live versions") as info:
            registry.delete(parent.id, force=force)
        assert info.value.children == sorted([child.id, uploading.id])
        assert isinstance(info.value, dataver.ConflictError)
    registry.delete(child.id)
    registry.delete(uploading.id, force=True)
    registry.delete(parent.id)
    assert registry.list() == []


def test_delete_published_needs_force(finalized: Finalized, registry: dataver.Registry) -> None:
    ds = finalized({"a": b"a"})
    ds.publish()
    with pytest.raises(
        InvalidTransitionError, match=r"it is published \(read-only\); pass force=True"
    ) as info:
        registry.delete(ds.id)
    assert info.value.state == "published"
    assert registry.get(ds.id).state is State.PUBLISHED
    registry.delete(ds.id, force=True)
    with pytest.raises(VersionNotFoundError):
        registry.get(ds.id, states=None)


def test_delete_uploading_needs_force(registry: dataver.Registry) -> None:
    ds = registry.create("ds")
    with pytest.raises(InvalidTransitionError, match="still uploading"):
        registry.delete(ds.id)
    registry.delete(ds.id, force=True)
    assert registry.list() == []


@pytest.mark.parametrize("state", [State.FINAL, State.ABORTED, State.FAILED])
def test_delete_without_force(registry: dataver.Registry, state: State) -> None:
    ds = registry.create("ds")
    {State.FINAL: ds.finalize, State.ABORTED: ds.abort}.get(state, lambda: ds.fail("x"))()
    registry.delete(ds.id)
    with pytest.raises(VersionNotFoundError):
        registry.get(ds.id, states=None)
    with pytest.raises(VersionNotFoundError):
        registry.delete(ds.id)


def test_delete_drops_the_cached_tree_but_not_the_content(
    finalized: Finalized,
    registry: dataver.Registry,
    registry_path: Path,
    cache_dir: Path,
    content_files: ContentFiles,
) -> None:
    ds = finalized({"a": b"a" * 100})
    tree = ds.get_local_copy()
    before = content_files(registry_path)
    registry.delete(ds.id)
    assert not tree.exists()
    assert not (cache_dir / "versions" / f"{ds.id}.complete").exists()
    assert content_files(registry_path) == before  # only gc reclaims content


def test_gc_dry_run_vs_execute(
    registry_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content_files: ContentFiles,
    read_tree: Callable[[Path], dict[str, bytes]],
) -> None:
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "4096")
    registry = dataver.Registry(registry_path)
    shared, big = os.urandom(10_000), os.urandom(20_000)
    parent_files = {"small": b"s" * 100, "shared.bin": shared}
    parent = registry.create("ds")
    parent.add_files(_tree(tmp_path / "p", parent_files))
    parent.finalize(auto_upload=True)
    parent_content = content_files(registry_path)
    assert len(parent_content) == 2  # one pack, one object

    child = registry.create("ds", parents=[parent])
    child.add_files(_tree(tmp_path / "c", {"unique.bin": big, "unique.txt": b"u" * 50}))
    child.finalize(auto_upload=True)
    child_content = content_files(registry_path) - parent_content
    assert len(child_content) == 2
    sibling = registry.create("ds", parents=[parent])  # live, Uploading, shares parent content
    sibling.add_files(_tree(tmp_path / "s", {"copy-of-shared.bin": shared}))
    sibling.upload()
    assert content_files(registry_path) == parent_content | child_content

    registry.delete(child.id)
    assert content_files(registry_path) == parent_content | child_content

    # Young content is protected by the grace period (default one hour).
    assert registry.gc(dry_run=False).keys == ()

    keys_before = all_keys(registry_path)
    plan = registry.gc(grace_seconds=0)  # dry run is the default
    assert plan.dry_run is True
    assert child_content <= set(plan.keys)
    assert not (set(plan.keys) & parent_content)
    assert plan.freed_bytes == sum((registry_path / k).stat().st_size for k in plan.keys)
    assert plan.freed_bytes >= len(big) + 50
    assert all_keys(registry_path) == keys_before  # a dry run deletes nothing

    done = registry.gc(dry_run=False, grace_seconds=0)
    assert done.dry_run is False
    assert set(done.keys) == set(plan.keys)
    assert done.freed_bytes == plan.freed_bytes
    assert all_keys(registry_path) == keys_before - set(plan.keys)
    assert content_files(registry_path) == parent_content
    assert registry.gc(grace_seconds=0).keys == ()  # nothing left to collect

    # Live versions are whole: read them through a brand-new cache.
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "fresh-cache"))
    fresh = dataver.Registry(registry_path)
    assert fresh.get(parent.id).verify() == []
    assert read_tree(fresh.get(parent.id).get_local_copy()) == parent_files
    survivor = fresh.get(sibling.id, states=None)
    survivor.finalize()
    assert read_tree(survivor.get_local_copy()) == {**parent_files, "copy-of-shared.bin": shared}


def test_gc_keeps_content_of_every_recorded_version(
    registry: dataver.Registry,
    registry_path: Path,
    tmp_path: Path,
    content_files: ContentFiles,
) -> None:
    aborted = registry.create("ds")
    aborted.add_files(_tree(tmp_path / "a", {"x": b"aborted bytes"}))
    aborted.upload()
    aborted.abort()
    uploading = registry.create("ds")
    uploading.add_files(_tree(tmp_path / "u", {"y": b"uploading bytes"}))
    uploading.upload()
    content = content_files(registry_path)
    assert len(content) == 2
    registry.gc(dry_run=False, grace_seconds=0)
    assert content_files(registry_path) == content
    uploading.finalize()
    assert uploading.verify() == []


def test_gc_keeps_journalled_content_of_an_interrupted_upload(
    registry: dataver.Registry,
    registry_path: Path,
    tmp_path: Path,
    content_files: ContentFiles,
) -> None:
    """Content stored by an upload that died before recording it is kept, and resumed."""
    ds = registry.create("ds")
    ds.add_files(_tree(tmp_path / "src", {"a": b"a" * 1000, "b": b"b" * 2000}))
    backend = registry.backend
    # The first half of upload(): content stored and journalled, the record never updated.
    content = ds._manifest()
    result = upload_pending(
        backend.store,
        backend.settings,
        version_id=ds.id,
        pending=[e for e in content if e.is_pending],
        search=[content, Manifest(backend.store, ds.record.base_manifest)],
        stat_cache=backend.stat_cache,
    )
    assert result.stored_bytes == 3000
    stored = content_files(registry_path)
    assert len(stored) == 1
    assert (registry_path / "staging" / ds.id).is_dir()

    registry.gc(dry_run=False, grace_seconds=0)
    assert content_files(registry_path) == stored

    assert ds.upload() == 0  # resumed from the journal: nothing is sent twice
    ds.finalize()
    assert ds.stats.stored_bytes == 3000  # the interrupted attempt's bytes still count
    assert content_files(registry_path) == stored
    assert not (registry_path / "staging" / ds.id).exists() or not any(
        (registry_path / "staging" / ds.id).iterdir()
    )
    assert ds.verify() == []


def test_gc_after_force_deleting_an_uploading_version_reclaims_its_upload(
    registry: dataver.Registry,
    registry_path: Path,
    tmp_path: Path,
    content_files: ContentFiles,
) -> None:
    ds = registry.create("ds")
    ds.add_files(_tree(tmp_path / "src", {"a": b"doomed"}))
    ds.upload()
    assert len(content_files(registry_path)) == 1
    registry.delete(ds.id, force=True)
    plan = registry.gc(dry_run=False, grace_seconds=0)
    assert content_files(registry_path) == set()
    assert any(k.startswith("packs/") for k in plan.keys)
    assert all_keys(registry_path) == set()


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root
