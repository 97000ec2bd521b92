"""What a delete that died half-way leaves, and who cleans it up (see dataver.ops.delete)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from dataver.errors import ConflictError, VersionNotFoundError
from dataver.ops.transition import make_lease, tombstone_record
from dataver.versions import repo

if TYPE_CHECKING:
    from collections.abc import Callable

    import dataver


def test_a_tombstone_is_invisible_and_fsck_repair_purges_it(
    finalized: Callable[..., dataver.Dataset], registry: dataver.Registry
) -> None:
    ds = finalized({"a.txt": b"a"})
    record, token = repo.load(registry.store, ds.id)
    repo.save(registry.store, tombstone_record(record), token)  # NOTE: died before the purge

    with pytest.raises(VersionNotFoundError, match="deleted"):
        registry.get(ds.id, states=None)
    assert registry.list() == []
    with pytest.raises(ConflictError):  # NOTE: its version string is still its own
        registry.create(ds.name, version=ds.version)

    report = registry.fsck(grace_seconds=0)
    assert [p.kind for p in report.problems] == ["tombstone"]
    repaired = registry.fsck(repair=True, grace_seconds=0)
    assert [p.kind for p in repaired.repaired] == ["tombstone"]
    assert registry.fsck(grace_seconds=0).ok
    assert not registry.store.exists(f"versions/{ds.id}.json")
    assert registry.create(ds.name, version=ds.version).version == ds.version


def test_a_young_tombstone_is_a_delete_in_progress(
    finalized: Callable[..., dataver.Dataset], registry: dataver.Registry
) -> None:
    ds = finalized({"a.txt": b"a"})
    record, token = repo.load(registry.store, ds.id)
    repo.save(registry.store, tombstone_record(record), token)
    report = registry.fsck()
    assert report.ok
    assert f"versions/{ds.id}.json" in report.in_progress


def test_a_mark_blocks_children_until_it_expires(
    finalized: Callable[..., dataver.Dataset], registry: dataver.Registry
) -> None:
    parent = finalized({"a.txt": b"a"})
    record, token = repo.load(registry.store, parent.id)
    marked, token = repo.save(
        registry.store, record.model_copy(update={"deleting": make_lease(600, "delete:x")}), token
    )
    with pytest.raises(ConflictError, match="is being deleted"):
        registry.create(parent.name, parents=[parent.id])
    assert [d.id for d in registry.list()] == [parent.id]  # NOTE: the child was withdrawn
    with pytest.raises(ConflictError, match="being deleted by another process"):
        registry.delete(parent.id)

    expired = marked.deleting.model_copy(  # type: ignore[union-attr]
        update={"expires_at": marked.created_at - timedelta(seconds=1)}
    )
    repo.save(registry.store, marked.model_copy(update={"deleting": expired}), token)
    child = registry.create(parent.name, parents=[parent.id])  # NOTE: a dead delete's mark
    assert child.parents == (parent.id,)
    assert registry.fsck().ok
