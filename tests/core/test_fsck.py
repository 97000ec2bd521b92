"""``Registry.fsck``: every kind of damage and leftover is found; repair fixes only leftovers.

Damage is made the way it happens in real life — a file removed or cut short on disk, a
record overwritten, a writer that stopped — on a real local folder, and for the core checks
on the moto S3 server too.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.layout import claim_key, dataset_key, journal_prefix, manifest_key, name_key
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    decode_root,
    digest,
    encode_root,
    encode_shard,
)
from dataver.manifest.entry import Entry
from dataver.versions.records import DatasetRecord, Pointer, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Finalized = Callable[..., dataver.Dataset]

FILES = {"a.txt": b"alpha" * 10, "sub/b.bin": b"b" * 300, "big.bin": os.urandom(5000)}


@pytest.fixture(autouse=True)
def small_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files from 4 KiB are single objects, smaller ones go into packs: both are checked."""
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "4096")


def _kinds(report: dataver.FsckReport) -> list[str]:
    return sorted(p.kind for p in report.problems)


def _keys(registry: dataver.Registry) -> dict[str, int]:
    return {i.key: i.size for i in registry.store.list("")}


def _build(registry: dataver.Registry, tmp_path: Path) -> dataver.Dataset:
    src = tmp_path / "src"
    for rel, data in FILES.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    ds = registry.create("ds")
    ds.add_files(src)
    ds.finalize(auto_upload=True)
    ds.publish()
    return ds


def test_a_healthy_registry_is_consistent(any_registry: dataver.Registry, tmp_path: Path) -> None:
    ds = _build(any_registry, tmp_path)
    child = any_registry.create("ds", parents=[ds])
    report = any_registry.fsck()
    assert report.ok, report.problems
    assert (report.datasets, report.versions, report.entries) == (1, 2, 3)
    assert report.content == 2  # one pack (a.txt, sub/b.bin) and one object (big.bin)
    assert report.in_progress == (f"versions/{child.id}.json",)  # a live upload is no problem
    assert any_registry.fsck(repair=True).repaired == ()


def test_missing_and_short_content_are_errors_that_repair_leaves_alone(
    any_registry: dataver.Registry, tmp_path: Path
) -> None:
    ds = _build(any_registry, tmp_path)
    store = any_registry.store
    pack = next(i.key for i in store.list("packs/"))
    obj = next(i.key for i in store.list("objects/"))
    store.delete(pack)
    store.write(obj, b"short")
    before = _keys(any_registry)
    report = any_registry.fsck(repair=True, grace_seconds=0)
    assert _kinds(report) == ["missing-content", "wrong-size"]
    assert {p.key for p in report.problems} == {pack, obj}
    assert all(p.version_id == ds.id and not p.repairable for p in report.problems)
    assert "a.txt" in next(p.message for p in report.problems if p.key == pack)
    assert report.repaired == ()
    assert _keys(any_registry) == before  # repair deleted nothing


def test_missing_and_corrupt_manifests_are_errors(
    registry: dataver.Registry, registry_path: Path, tmp_path: Path
) -> None:
    ds = _build(registry, tmp_path)
    root = registry_path / manifest_key(ds.record.manifest or "")
    (shard,) = decode_root(root.read_bytes(), "root").shards
    (registry_path / manifest_key(shard.hash)).unlink()
    assert _kinds(registry.fsck()) == ["missing-manifest"]
    root.write_bytes(root.read_bytes()[:-3])  # torn write: the name no longer matches
    report = registry.fsck()
    assert _kinds(report) == ["corrupt-manifest"]
    assert "do not match its hash" in report.problems[0].message


def test_a_final_manifest_with_pending_files_is_an_error(
    registry: dataver.Registry, registry_path: Path, tmp_path: Path
) -> None:
    ds = _build(registry, tmp_path)
    # A Final record pointing at a manifest whose file was never uploaded (a forged or
    # out-of-order write): fsck must say the version is not complete.
    entry = Entry("x.bin", 3, "ab" * 32, source=str(tmp_path / "x.bin"))
    shard = encode_shard([entry])
    root = ManifestRoot(
        hash_algorithm="blake3",
        files=1,
        bytes=3,
        pending=1,
        shards=(
            ShardRef(hash=digest(shard), first="x.bin", last="x.bin", count=1, bytes=3, pending=1),
        ),
    )
    data = encode_root(root)
    registry.store.write(manifest_key(digest(shard)), shard)
    registry.store.write(manifest_key(digest(data)), data)
    record = ds.record.model_copy(update={"manifest": digest(data)})
    registry.store.write(f"versions/{ds.id}.json", record.to_bytes())
    assert _kinds(registry.fsck()) == ["pending-in-final"]


def test_damaged_records_and_claims_are_errors(
    registry: dataver.Registry, registry_path: Path, tmp_path: Path
) -> None:
    ds = _build(registry, tmp_path)
    other = registry.create("other")
    (registry_path / f"versions/{other.id}.json").write_bytes(b'{"format": 2}')
    (registry_path / "versions" / "not-an-id.json").write_bytes(b"{}")
    claim = registry_path / claim_key(ds.record.dataset_id, ds.version)
    claim.write_bytes(Pointer(target=other.id).to_bytes())
    report = registry.fsck(repair=True, grace_seconds=0)
    assert _kinds(report) == ["missing-claim", "unreadable-record", "unreadable-record"]
    damaged = next(p for p in report.problems if p.version_id == other.id)
    assert "format 2" in damaged.message
    assert report.repaired == ()


def test_leftovers_of_interrupted_writers_are_repaired(
    registry: dataver.Registry,
    registry_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = _build(registry, tmp_path)
    store = registry.store
    # A create killed between its claim and its record; a dataset record whose name pointer
    # was never written; a rename killed after its new pointer; a journal left by a finalize
    # killed before its cleanup; a temporary file of a killed write; a writer that died.
    store.create(claim_key(ds.record.dataset_id, "9.9.9"), Pointer(target="f" * 32).to_bytes())
    orphan = DatasetRecord(id="e" * 32, project="p", name="lost", created_at=utcnow())
    store.create(dataset_key(orphan.id), orphan.to_bytes())
    store.create(name_key("default", "renamed"), Pointer(target=ds.record.dataset_id).to_bytes())
    store.write(journal_prefix(ds.id) + "object-" + "c" * 64 + ".json", b"{}")
    (registry_path / "packs" / ".half.abc.tmp").write_bytes(b"partial")
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "0.05")
    dead = dataver.Registry(registry_path).create("ds")
    time.sleep(0.1)

    young = registry.fsck()  # default grace: a writer could still be between two steps
    assert _kinds(young) == ["stale-version"]
    assert len(young.in_progress) == 5

    checked = registry.fsck(grace_seconds=0)
    assert _kinds(checked) == [
        "leftover-journal",
        "orphan-claim",
        "orphan-dataset",
        "stale-name",
        "stale-version",
        "temp-file",
    ]
    assert all(p.repairable for p in checked.problems)
    assert not registry.fsck(grace_seconds=0).ok  # checking changed nothing

    repaired = registry.fsck(repair=True, grace_seconds=0)
    assert repaired.ok, repaired.problems
    assert sorted(p.kind for p in repaired.repaired) == _kinds(checked)
    aborted = registry.get(dead.id, states=None)
    assert aborted.state is dataver.State.ABORTED
    assert "fsck --repair" in (aborted.error or "")
    assert registry.get(ds.id).state is dataver.State.PUBLISHED
    assert registry.get(name="ds").id == ds.id
    assert not (registry_path / "packs" / ".half.abc.tmp").exists()
    # The writer that died cannot come back and finalize what repair aborted.
    with pytest.raises(dataver.ConflictError, match="became aborted"):
        dead.finalize()


def test_repair_does_not_abort_a_writer_that_renewed_its_lease(
    registry: dataver.Registry, registry_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "0.05")
    writer = dataver.Registry(registry_path).create("ds")
    time.sleep(0.1)
    assert _kinds(registry.fsck()) == ["stale-version"]
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "600")
    (tmp_path / "f").write_bytes(b"f")
    back = dataver.Registry(registry_path).get(writer.id, states=None)
    back.add_files(tmp_path / "f")  # the writer came back: every change renews the lease
    assert registry.fsck(repair=True).repaired == ()
    back.finalize(auto_upload=True)
    assert registry.fsck().ok
