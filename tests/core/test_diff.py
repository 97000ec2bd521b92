"""Diffs of manifests: added, removed, modified, and renames of identical content."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataver.diff import Diff, diff_manifests
from dataver.manifest import writer as writer_module
from dataver.manifest.entry import Entry
from dataver.manifest.reader import Manifest
from dataver.manifest.writer import write_manifest
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    from pathlib import Path


def h(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(tmp_path_factory.mktemp("diff"), fsync=False)


def manifest(store: LocalStore, entries: list[Entry]) -> Manifest:
    return Manifest(store, write_manifest(store, "blake3", sorted(entries)))


def test_diff_with_renames_modifications_additions(store: LocalStore) -> None:
    old = manifest(
        store,
        [
            Entry("a", 1, h("a")),
            Entry("b", 2, h("b")),
            Entry("c", 3, h("c")),
            Entry("same", 9, h("same")),
            Entry("gone", 4, h("gone")),
        ],
    )
    new = manifest(
        store,
        [
            Entry("a", 1, h("a")),
            Entry("moved/b2", 2, h("b")),  # renamed
            Entry("c", 5, h("c2")),  # modified
            Entry("d", 6, h("d")),  # added
            Entry("same", 9, h("same"), pack="ee" * 32, offset=7),  # relocated: not a change
        ],
    )
    diff = diff_manifests(old, new)
    assert diff.added == ("d",)
    assert diff.removed == ("gone",)
    assert diff.modified == ("c",)
    assert diff.renamed == (("b", "moved/b2"),)
    assert [e.path for e in diff.new_entries] == ["c", "d"]
    assert diff.as_dict() == {
        "added": ["d"],
        "removed": ["gone"],
        "modified": ["c"],
        "renamed": [["b", "moved/b2"]],
    }
    assert not diff.is_empty
    reverse = diff_manifests(new, old)
    assert reverse.renamed == (("moved/b2", "b"),)
    assert (reverse.added, reverse.removed, reverse.modified) == (("gone",), ("d",), ("c",))


def test_diff_identical_is_empty(store: LocalStore) -> None:
    m = manifest(store, [Entry("a", 1, h("a")), Entry("b", 2, h("b"))])
    diff = diff_manifests(m, m)
    assert diff == Diff()
    assert diff.is_empty
    assert diff_manifests(Manifest(store, None), Manifest(store, None)).is_empty


def test_duplicate_content_pairs_each_removal_once(store: LocalStore) -> None:
    old = manifest(store, [Entry("x1", 3, h("dup")), Entry("x2", 3, h("dup"))])
    new = manifest(store, [Entry("y", 3, h("dup"))])
    diff = diff_manifests(old, new)
    assert diff.renamed == (("x1", "y"),)
    assert diff.removed == ("x2",)
    assert diff.added == ()

    two = manifest(store, [Entry("y1", 3, h("dup")), Entry("y2", 3, h("dup"))])
    diff = diff_manifests(old, two)
    assert diff.renamed == (("x1", "y1"), ("x2", "y2"))
    assert (diff.added, diff.removed) == ((), ())


def test_swap_of_two_paths_is_two_modifications(store: LocalStore) -> None:
    old = manifest(store, [Entry("a", 1, h("1")), Entry("b", 1, h("2"))])
    new = manifest(store, [Entry("a", 1, h("2")), Entry("b", 1, h("1"))])
    diff = diff_manifests(old, new)
    assert diff.modified == ("a", "b")
    assert diff.renamed == ()


def test_links_rename_only_with_the_same_url(store: LocalStore) -> None:
    old = manifest(
        store,
        [
            Entry("l1", 5, h("l"), url="file:///x/l"),
            Entry("nohash", 5, None, url="s3://b/k"),
        ],
    )
    new = manifest(
        store,
        [
            Entry("l2", 5, h("l"), url="file:///x/l"),
            Entry("nohash2", 5, None, url="s3://b/k"),
        ],
    )
    diff = diff_manifests(old, new)
    # A link without a hash cannot be proven identical: it is an addition and a removal.
    assert diff.renamed == (("l1", "l2"),)
    assert diff.added == ("nohash2",)
    assert diff.removed == ("nohash",)
    # A stored file and a link with the same bytes are different entries.
    stored = manifest(store, [Entry("l1", 5, h("l"))])
    assert diff_manifests(stored, old).modified == ("l1",)


def test_diff_of_large_manifests_with_one_change(store: LocalStore) -> None:
    entries = [Entry(f"f/{i:05d}", i, h(str(i))) for i in range(12_000)]
    old = manifest(store, entries)
    changed = list(entries)
    changed[6000] = Entry(changed[6000].path, 1, h("changed"))
    changed[100] = Entry("g/renamed", entries[100].size, entries[100].hash)
    new = manifest(store, changed)
    diff = diff_manifests(old, new)
    assert diff.modified == ("f/06000",)
    assert diff.renamed == (("f/00100", "g/renamed"),)
    assert (diff.added, diff.removed) == ((), ())


def _model_diff(before: list[Entry], after: list[Entry]) -> tuple[set[str], set[str], set[str]]:
    old = {e.path: e for e in before}
    new = {e.path: e for e in after}
    modified = {p for p in old.keys() & new.keys() if not old[p].same_content(new[p])}
    return new.keys() - old.keys(), old.keys() - new.keys(), modified


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.dictionaries(
        st.integers(min_value=0, max_value=399),
        st.sampled_from(["remove", "modify", "relocate", "add-after"]),
        max_size=80,
    )
)
def test_diff_equals_a_model_for_any_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edits: dict[int, str]
) -> None:
    """Property: shards walked in step, skipped or merged, the diff is the by-path one.

    Small shards (~16 entries) mix every case: identical shards, shards with the same range
    (edits in place, relocations that are not modifications), and shifted cuts.
    """
    monkeypatch.setattr(writer_module, "BOUNDARY_MASK", 0xF)
    store = LocalStore(tmp_path, fsync=False)
    before = [Entry(f"d/{i:04d}", i, h(str(i))) for i in range(400)]
    after: list[Entry] = []
    for i, entry in enumerate(before):
        edit = edits.get(i)
        if edit == "remove":
            continue
        if edit == "modify":
            entry = entry._replace(hash=h(f"new {i}"))
        elif edit == "relocate":  # same bytes, stored elsewhere: not a modification
            entry = entry._replace(pack=h("pack"), offset=i)
        after.append(entry)
        if edit == "add-after":
            after.append(Entry(f"d/{i:04d}-new", 1, h(f"added {i}")))
    diff = diff_manifests(manifest(store, before), manifest(store, after))
    added, removed, modified = _model_diff(before, after)
    renamed_old = {old for old, _ in diff.renamed}
    renamed_new = {new for _, new in diff.renamed}
    assert set(diff.added) | renamed_new == added
    assert set(diff.removed) | renamed_old == removed
    assert set(diff.modified) == modified
    assert list(diff.modified) == sorted(diff.modified)
