"""The native pairing loop (``dataver_native.vouch``) against ``dataver.scan._vouch_in_step``.

Both must pair the same files with the same entries, classify the same vouched files into
added/modified (as equal entries, in the same order), report the same missing entries in
the same order, and hand back the same files to hash. Hypothesis draws the cases: each path
may be a local file, an entry, both or neither, with a stat-cache row that matches, differs
in one field, is malformed, or is absent.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataver import scan as scan_module
from dataver.manifest.entry import Entry
from dataver.scan import Compared, LocalFile

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="not built on Windows")

ROOT = "/data/tree"
HASH_A, HASH_B = "a" * 64, "b" * 64


def _native() -> Any:
    return importlib.import_module("dataver_native")


def run_python(
    files: list[LocalFile], entries: list[Entry], known: dict[str, Any]
) -> tuple[list[Any], Compared, list[Entry]]:
    result, gone = Compared([], []), []
    todo = scan_module._vouch_in_step(files, iter(entries), known, result, gone.append)
    return todo, result, gone


def run_native(
    files: list[LocalFile], entries: list[Entry], known: dict[str, Any]
) -> tuple[list[Any], Compared, list[Entry]]:
    result, gone = Compared([], []), []
    todo = _native().vouch(
        files, iter(entries), known, Entry, result.added, result.modified, gone.append
    )
    return todo, result, gone


ROW_KINDS = ("match", "size", "mtime", "inode", "short", "not-a-list", "absent")
ENTRY_KINDS = ("same", "other-hash", "other-size", "link", "none")


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[LocalFile], list[Entry], dict[str, Any]]:
    names = draw(
        st.lists(
            st.tuples(st.sampled_from(["", "a/", "a/b/", "z/"]), st.sampled_from("pqrst")),
            unique=True,
            max_size=16,
        )
    )
    files: list[LocalFile] = []
    entries: list[Entry] = []
    known: dict[str, Any] = {}
    for folder, name in sorted(names, key=lambda n: n[0] + n[1]):
        path = folder + name
        local = f"{ROOT}/{path}"
        size, mtime, inode = draw(st.integers(0, 3)), 10**18 + draw(st.integers(0, 2)), 7
        is_file = draw(st.booleans())
        if is_file:
            files.append(LocalFile(path, local, size, mtime, inode))
        kind = draw(st.sampled_from(ENTRY_KINDS))
        if kind == "same":
            entries.append(Entry(path, size, HASH_A, pack="p" * 64))
        elif kind == "other-hash":
            entries.append(Entry(path, size, HASH_B))
        elif kind == "other-size":
            entries.append(Entry(path, size + 1, HASH_A))
        elif kind == "link":
            entries.append(Entry(path, size, HASH_A, url=f"file:///x/{path}"))
        row = draw(st.sampled_from(ROW_KINDS))
        head, _, leaf = local.rpartition("/")
        rows = known.setdefault(head, {})
        values = {
            "match": [size, mtime, inode, HASH_A],
            "size": [size + 1, mtime, inode, HASH_A],
            "mtime": [size, mtime + 1, inode, HASH_A],
            "inode": [size, mtime, inode + 1, HASH_A],
            "short": [size, mtime],
            "not-a-list": "garbage",
        }
        if row in values:
            rows[leaf] = values[row]
    return files, entries, known


@settings(max_examples=300, deadline=None)
@given(cases())
def test_same_outcome_as_the_python_loop(
    case: tuple[list[LocalFile], list[Entry], dict[str, Any]],
) -> None:
    files, entries, known = case
    assert run_native(files, entries, known) == run_python(files, entries, known)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_a_malformed_row_never_vouches(
    case: tuple[list[LocalFile], list[Entry], dict[str, Any]],
) -> None:
    files, entries, known = case
    todo, result, _ = run_native(files, entries, known)
    for file, _entry in todo:
        assert type(file) is LocalFile
    hashed = {file.path for file, _ in todo}
    for entry in (*result.added, *result.modified):
        assert entry.source is not None
        head, _, leaf = entry.source.rpartition("/")
        row = known[head][leaf]
        assert isinstance(row, list)  # vouched only by a proper row
        assert len(row) == 4
        assert entry.path not in hashed
    assert len(todo) + len(result.added) + len(result.modified) <= len(files)


def test_vouched_entries_are_entries_and_unchanged_files_vanish() -> None:
    files = [
        LocalFile("a", f"{ROOT}/a", 3, 5, 9),  # unchanged: same hash and size
        LocalFile("b", f"{ROOT}/b", 3, 5, 9),  # vouched, other hash: modified
        LocalFile("c", f"{ROOT}/c", 3, 5, 9),  # vouched, no entry: added
        LocalFile("d", f"{ROOT}/d", 3, 5, 9),  # no row: to hash
    ]
    entries = [Entry("a", 3, HASH_A), Entry("b", 3, HASH_B), Entry("gone", 1, HASH_A)]
    rows = {name: [3, 5, 9, HASH_A] for name in "abc"}
    todo, result, gone = run_native(files, entries, {ROOT: rows})
    assert todo == [(files[3], None)]
    assert result.modified == [Entry("b", 3, HASH_A, source=f"{ROOT}/b")]
    assert result.added == [Entry("c", 3, HASH_A, source=f"{ROOT}/c")]
    assert all(type(e) is Entry for e in (*result.added, *result.modified))
    assert gone == [Entry("gone", 1, HASH_A)]


def test_bad_arguments_raise_instead_of_crashing() -> None:
    native = _native()
    with pytest.raises(TypeError, match="LocalFile"):
        native.vouch([("a", "/a")], iter([]), {}, Entry, [], [], None)
    with pytest.raises(TypeError, match="7-field"):
        native.vouch([], iter([("a",)]), {}, Entry, [], [], None)
    with pytest.raises(TypeError, match="tuple subclass"):
        native.vouch([], iter([]), {}, int, [], [], None)
    with pytest.raises(ZeroDivisionError):  # an on_missing failure propagates
        native.vouch([], iter([Entry("a", 1, HASH_A)]), {}, Entry, [], [], lambda e: 1 / 0)


def test_compare_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert scan_module._NATIVE_VOUCH is _native().vouch
    calls: list[int] = []
    real = scan_module._NATIVE_VOUCH

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(scan_module, "_NATIVE_VOUCH", counted)

    class NoCache:
        def store(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("nothing to hash")

    files = [LocalFile("a", f"{ROOT}/a", 3, 5, 9)]
    found = scan_module.compare(
        files,
        iter([]),
        NoCache(),  # type: ignore[arg-type]
        algorithm="blake3",
        known={ROOT: {"a": [3, 5, 9, HASH_A]}},
        workers=1,
    )
    assert calls == [1]
    assert found.added == [Entry("a", 3, HASH_A, source=f"{ROOT}/a")]
