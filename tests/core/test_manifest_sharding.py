"""Manifests as content-defined shards: big manifests split, children share unchanged shards.

Uses the real writer/reader on a real local store; entries are synthetic (no file bytes
are needed to exercise the manifest layer).
"""

from __future__ import annotations

import hashlib
import itertools
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataver.diff import diff_manifests
from dataver.errors import StorageError
from dataver.manifest import writer as writer_module
from dataver.manifest.codec import decompress
from dataver.manifest.entry import Entry
from dataver.manifest.merge import apply_changes, merge_manifests, relocate
from dataver.manifest.reader import Manifest
from dataver.manifest.writer import MAX_SHARD, is_boundary, write_manifest
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    from pathlib import Path

N = 20_000


def fake_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def entry(i: int, generation: int = 0) -> Entry:
    return Entry(f"data/{i // 1000:02d}/{i:06d}.bin", 100 + i, fake_hash(f"{i}-{generation}"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(tmp_path_factory.mktemp("manifests"), fsync=False)


@pytest.fixture(scope="module")
def big(store: LocalStore) -> Manifest:
    return Manifest(store, write_manifest(store, "blake3", (entry(i) for i in range(N))))


def test_a_20000_entry_manifest_has_several_shards(big: Manifest) -> None:
    shards = big.shards
    assert len(shards) >= 3
    assert len(big) == big.root.files == N
    assert sum(s.count for s in shards) == N
    assert big.root.bytes == sum(100 + i for i in range(N))
    assert all(1 <= s.count <= MAX_SHARD for s in shards)
    # Cuts are content-defined: after a boundary path, or when a shard is full.
    for shard in shards[:-1]:
        assert is_boundary(shard.last) or shard.count == MAX_SHARD
    for before, after in itertools.pairwise(shards):
        assert before.last < after.first
    assert len({s.hash for s in shards}) == len(shards)


def test_big_manifest_reads_back_in_order(big: Manifest) -> None:
    assert list(big) == [entry(i) for i in range(N)]
    assert big.get(entry(12_345).path) == entry(12_345)
    assert big.get(entry(0).path) == entry(0)
    assert big.get(entry(N - 1).path) == entry(N - 1)
    assert big.get("data/05/999999.bin") is None
    assert big.get("zzz") is None
    assert big.get("") is None
    folder = list(big.iter_folder("data/07"))
    assert folder == [entry(i) for i in range(7000, 8000)]
    assert list(big.iter_folder("data/0")) == []  # "data/0" is not a folder


def test_child_changing_one_percent_reuses_most_shards(store: LocalStore, big: Manifest) -> None:
    changed = range(9_000, 9_200)  # 1% of the files: one folder's worth of edits
    changes = {entry(i).path: entry(i, generation=1) for i in changed}
    child = Manifest(store, apply_changes(big, changes))

    old_hashes = [s.hash for s in big.shards]
    new_hashes = [s.hash for s in child.shards]
    reused = set(old_hashes) & set(new_hashes)
    assert len(new_hashes) == len(old_hashes)
    assert len(reused) >= len(old_hashes) - 2
    assert len(reused) >= 0.6 * len(old_hashes)
    expected = [entry(i, 1 if i in changed else 0) for i in range(N)]
    assert list(child) == expected
    # Incremental writing gives exactly the manifest a writer from scratch gives.
    assert child.ref == write_manifest(store, "blake3", expected)
    diff = diff_manifests(big, child)
    assert diff.modified == tuple(entry(i).path for i in changed)
    assert (diff.added, diff.removed, diff.renamed) == ((), (), ())


def test_insert_and_remove_touch_only_nearby_shards(store: LocalStore, big: Manifest) -> None:
    inserted = Entry("data/10/010500.bin.new", 1, fake_hash("new"))
    child = Manifest(store, apply_changes(big, {inserted.path: inserted}))
    assert len({s.hash for s in child.shards} - {s.hash for s in big.shards}) == 1
    assert child.get(inserted.path) == inserted
    assert len(child) == N + 1

    removed = Manifest(store, apply_changes(big, {entry(15_000).path: None}))
    assert len({s.hash for s in removed.shards} - {s.hash for s in big.shards}) <= 2
    assert len(removed) == N - 1
    assert removed.get(entry(15_000).path) is None


def test_no_changes_keep_the_same_manifest(big: Manifest) -> None:
    assert apply_changes(big, {}) == big.ref


def test_writing_is_deterministic(store: LocalStore, big: Manifest) -> None:
    assert write_manifest(store, "blake3", (entry(i) for i in range(N))) == big.ref


def test_writer_refuses_out_of_order_entries(store: LocalStore) -> None:
    w = writer_module.ManifestWriter(store, "blake3")
    w.add(entry(2))
    with pytest.raises(ValueError, match="out of order"):
        w.add(entry(1))
    with pytest.raises(ValueError, match="out of order"):
        w.add(entry(2))


def test_merge_manifests_later_wins(store: LocalStore) -> None:
    first = Manifest(store, write_manifest(store, "blake3", [entry(i) for i in range(0, 30)]))
    second = Manifest(store, write_manifest(store, "blake3", [entry(i, 1) for i in range(20, 40)]))
    merged = Manifest(store, merge_manifests(store, [first, second], "blake3"))
    assert list(merged) == [entry(i, 1 if i >= 20 else 0) for i in range(40)]
    reverse = Manifest(store, merge_manifests(store, [second, first], "blake3"))
    assert list(reverse) == [entry(i, 1 if i >= 30 else 0) for i in range(40)]
    assert merge_manifests(store, [first], "blake3") == first.ref
    assert merge_manifests(store, [], "blake3") is None


def test_empty_manifest(store: LocalStore) -> None:
    empty = Manifest(store, None)
    assert (len(empty), list(empty), empty.shards) == (0, [], ())
    assert empty.get("a") is None
    written = Manifest(store, write_manifest(store, "blake3", []))
    assert (len(written), list(written)) == (0, [])


# Changes: index -> None (remove), or a generation (add or modify).
CHANGES = st.dictionaries(
    st.integers(min_value=0, max_value=599), st.none() | st.integers(1, 3), max_size=80
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=CHANGES)
def test_apply_changes_equals_writing_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changes: dict[int, int | None]
) -> None:
    """Property: for any change set, the incremental manifest is the from-scratch one."""
    _check_apply_changes(tmp_path, monkeypatch, changes)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=st.dictionaries(st.integers(0, 299).map(lambda i: 2 * i), st.integers(1, 3)))
def test_replacing_entries_equals_writing_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changes: dict[int, int | None]
) -> None:
    """Changes that only replace entries (modified files, uploads) re-encode shards in place."""
    _check_apply_changes(tmp_path, monkeypatch, changes)


def _check_apply_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changes: dict[int, int | None]
) -> None:
    # Small shards (about 16 entries) so that a few hundred entries span many of them.
    monkeypatch.setattr(writer_module, "BOUNDARY_MASK", 0xF)
    store = LocalStore(tmp_path / "store", fsync=False)
    base_ids = range(0, 600, 2)  # odd indexes are absent: changes there are additions
    base = Manifest(store, write_manifest(store, "blake3", [entry(i) for i in base_ids]))
    assert len(base.shards) > 5
    delta = {entry(i).path: None if g is None else entry(i, g) for i, g in changes.items()}
    result = Manifest(store, apply_changes(base, delta))

    model = {entry(i).path: entry(i) for i in base_ids}
    for path, new in delta.items():
        if new is None:
            model.pop(path, None)
        else:
            model[path] = new
    expected = [model[p] for p in sorted(model)]
    assert list(result) == expected
    assert result.ref == write_manifest(store, "blake3", expected)
    # Sharing: a base shard whose key range no change touches, starting where the new list
    # has just been cut (after a boundary path), is carried over unchanged.
    shards = base.shards
    for index, shard in enumerate(shards):
        low = shard.first if index else ""
        high = shards[index + 1].first if index + 1 < len(shards) else None
        touched = any(low <= p and (high is None or p < high) for p in delta)
        before = [e for e in expected if e.path < shard.first]
        if not touched and (not before or writer_module.is_boundary(before[-1].path)):
            assert shard.hash in {s.hash for s in result.shards}


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moved=st.sets(st.integers(min_value=0, max_value=299), max_size=60))
def test_relocate_equals_writing_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved: set[int]
) -> None:
    """Property: re-locating entries in place gives the manifest written from scratch.

    This is what an upload does to pending entries (same paths, new pack and offset).
    """
    monkeypatch.setattr(writer_module, "BOUNDARY_MASK", 0xF)
    store = LocalStore(tmp_path / "store", fsync=False)
    pending = [entry(i)._replace(source=f"/local/{i}") for i in range(300)]
    base = Manifest(store, write_manifest(store, "blake3", pending))
    assert len(base.shards) > 5
    located = {
        pending[i].path: pending[i]._replace(source=None, pack=fake_hash("pack"), offset=i)
        for i in moved
    }
    result = Manifest(store, relocate(base, located))
    expected = [located.get(e.path, e) for e in pending]
    assert list(result) == expected
    assert result.ref == write_manifest(store, "blake3", expected)
    assert result.root.pending == 300 - len(moved)
    untouched = [s for s in base.shards if not any(s.first <= p <= s.last for p in located)]
    assert {s.hash for s in untouched} <= {s.hash for s in result.shards}


def test_relocate_refuses_paths_not_in_the_manifest(store: LocalStore, big: Manifest) -> None:
    inside = entry(5)._replace(pack=fake_hash("p"))
    with pytest.raises(ValueError, match="not in the manifest"):
        relocate(big, {"data/99/zzz.bin": entry(1)._replace(path="data/99/zzz.bin")})
    with pytest.raises(ValueError, match="not in the manifest"):
        relocate(big, {inside.path: inside, "data/00/000000x.bin": inside})
    with pytest.raises(ValueError, match="changed its path"):
        relocate(big, {inside.path: entry(6)})
    assert relocate(big, {}) == big.ref


class _FailingStore(LocalStore):
    """Fails the write of the third shard (after the first two were stored)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, fsync=False)
        self.writes: list[str] = []
        self._seen = itertools.count()

    def write(self, key: str, data: bytes) -> None:
        if next(self._seen) == 2:
            raise StorageError(f"disk full writing {key}")
        super().write(key, data)
        self.writes.append(key)


def test_a_failed_shard_write_fails_the_manifest_and_writes_no_root(tmp_path: Path) -> None:
    """Shards are stored on threads; the root must wait for all of them, and never name a
    shard that failed."""
    store = _FailingStore(tmp_path / "store")
    with pytest.raises(StorageError, match="disk full"):
        write_manifest(store, "blake3", (entry(i) for i in range(N)))
    assert len(store.writes) >= 2
    kinds = {decompress(store.read(key), key)["kind"] for key in store.writes}
    assert kinds == {"dataver.shard"}
