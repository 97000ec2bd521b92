"""The pairing of scanned files with a manifest and the stat cache (``dataver.scan.compare``).

There is one pairing loop (``_vouch_in_step``, over a :class:`~dataver.scan.Listing`'s
columns). It is checked here against a plain restatement of what it must do, on cases
Hypothesis draws (each path a local file, an entry, both or neither; a stat-cache row that
matches, differs in one field, has another shape, holds floats or a hash that is not a
digest, or is absent), and on real trees through ``scan_folder`` and ``scan``, whichever
walk is installed (``make test-core-pure`` runs them without the C extension too).
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataver import scan as scan_module
from dataver.errors import UnsafePathError
from dataver.manifest.entry import Entry
from dataver.scan import Compared, Listing, LocalFile, compare, scan, scan_folder

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ROOT = "/data/tree"
HASH_A, HASH_B = "a" * 64, "b" * 64
Known = dict[str, dict[str, Any]]


def reference(
    files: list[LocalFile], entries: list[Entry], known: Known
) -> tuple[list[tuple[LocalFile, Entry | None]], Compared, list[Entry]]:
    """What the pairing must answer, said plainly: (files to hash with their entries, the
    entries the stat cache vouches for, the entries no file matches)."""
    by_path = {e.path: e for e in entries}
    paths = {f.path for f in files}
    todo: list[tuple[LocalFile, Entry | None]] = []
    result = Compared([], [])
    for file in files:
        old = by_path.get(file.path)
        folder, name = os.path.split(file.local)
        row = known.get(folder, {}).get(name)
        vouches = (
            isinstance(row, list)
            and len(row) >= 4
            and row[:3] == [file.size, file.mtime_ns, file.inode]
            and isinstance(row[3], str)
            and len(row[3]) == 64
            and all(c in "0123456789abcdef" for c in row[3])
        )
        if not vouches:
            todo.append((file, old))
            continue
        assert isinstance(row, list)
        new = Entry(file.path, file.size, row[3], source=file.local)
        if old is None:
            result.added.append(new)
        elif not old.same_content(new):
            result.modified.append(new)
    gone = [e for e in entries if e.path not in paths]
    return todo, result, gone


def paired(
    files: list[LocalFile] | Listing, entries: list[Entry], known: Known
) -> tuple[list[tuple[LocalFile, Entry | None]], Compared, list[Entry]]:
    result, gone = Compared([], []), []
    listing = files if isinstance(files, Listing) else Listing.of_rows(files)
    todo = scan_module._vouch_in_step(listing, iter(entries), known, result, gone.append)
    return todo, result, gone


ROW_KINDS = ("match", "size", "mtime", "inode", "short", "long", "not-a-list", "floats",
             "bad-hash", "int-hash", "absent")  # fmt: skip
ENTRY_KINDS = ("same", "other-hash", "other-size", "link", "none")


def _row(kind: str, size: int, mtime: int, inode: int) -> Any:
    return {
        "match": [size, mtime, inode, HASH_A],
        "size": [size + 1, mtime, inode, HASH_A],
        "mtime": [size, mtime + 1, inode, HASH_A],
        "inode": [size, mtime, inode + 1, HASH_A],
        "short": [size, mtime],
        "long": [size, mtime, inode, HASH_A, "more"],
        "not-a-list": "garbage",
        "floats": [float(size), mtime, inode, HASH_A],  # equal numbers: vouches
        "bad-hash": [size, mtime, inode, "../../etc/passwd"],
        "int-hash": [size, mtime, inode, 7],
    }.get(kind)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[LocalFile], list[Entry], Known]:
    names = draw(
        st.lists(
            st.tuples(st.sampled_from(["", "a/", "a/b/", "a.b/", "z/"]), st.sampled_from("pqrst")),
            unique=True,
            max_size=16,
        )
    )
    files: list[LocalFile] = []
    entries: list[Entry] = []
    known: Known = {}
    for folder, name in sorted(names, key=lambda n: n[0] + n[1]):
        path = folder + name
        local = f"{ROOT}/{path}"
        size, mtime, inode = draw(st.integers(0, 3)), 10**18 + draw(st.integers(0, 2)), 7
        if draw(st.booleans()):
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
        row = _row(draw(st.sampled_from(ROW_KINDS)), size, mtime, inode)
        if row is not None:
            folder_name, leaf = os.path.split(local)
            known.setdefault(folder_name, {})[leaf] = row
    return files, entries, known


@settings(max_examples=400, deadline=None)
@given(cases())
def test_the_pairing_answers_what_the_reference_says(case: tuple[Any, Any, Any]) -> None:
    files, entries, known = case
    todo, result, gone = paired(files, entries, known)
    want_todo, want_result, want_gone = reference(files, entries, known)
    assert todo == want_todo
    assert result == want_result
    assert gone == want_gone
    assert all(type(f) is LocalFile for f, _ in todo)
    assert all(type(e) is Entry for e in (*result.added, *result.modified))


@settings(max_examples=100, deadline=None)
@given(cases())
def test_a_single_file_is_vouched_for_the_same_way(case: tuple[Any, Any, Any]) -> None:
    """``_vouch_each`` (one file, one stat-cache look-up) agrees with the loop."""
    files, entries, known = case
    by_path = {e.path: e for e in entries}

    class Cache:
        def lookup_row(self, path: str, algorithm: str) -> tuple[Any, ...] | None:
            folder, name = os.path.split(path)
            row = known.get(folder, {}).get(name)
            return tuple(row) if isinstance(row, list) and len(row) == 4 else None

    for file in files:
        result = Compared([], [])
        pairs = iter([(file, by_path.get(file.path))])
        todo = scan_module._vouch_each(pairs, Cache(), "blake3", result)  # type: ignore[arg-type]
        row = known.get(os.path.dirname(file.local), {}).get(file.path.rpartition("/")[2])
        if isinstance(row, list) and len(row) != 4:
            continue  # NOTE: the stat cache never hands back such a row for one file
        want_todo, want_result, _ = reference([file], entries, known)
        assert (todo, result) == (want_todo, want_result)


def test_vouched_entries_are_entries_and_unchanged_files_vanish() -> None:
    files = [
        LocalFile("a", f"{ROOT}/a", 3, 5, 9),  # unchanged: same hash and size
        LocalFile("b", f"{ROOT}/b", 3, 5, 9),  # vouched, other hash: modified
        LocalFile("c", f"{ROOT}/c", 3, 5, 9),  # vouched, no entry: added
        LocalFile("d", f"{ROOT}/d", 3, 5, 9),  # no row: to hash
        LocalFile("e", f"{ROOT}/e", 3, 5, 9),  # a row whose hash is no digest: to hash
    ]
    entries = [Entry("a", 3, HASH_A), Entry("b", 3, HASH_B), Entry("gone", 1, HASH_A)]
    rows: dict[str, Any] = {name: [3, 5, 9, HASH_A] for name in "abc"}
    rows["e"] = [3, 5, 9, "../../escape"]
    todo, result, gone = paired(files, entries, {ROOT: rows})
    assert todo == [(files[3], None), (files[4], None)]
    assert result.modified == [Entry("b", 3, HASH_A, source=f"{ROOT}/b")]
    assert result.added == [Entry("c", 3, HASH_A, source=f"{ROOT}/c")]
    assert gone == [Entry("gone", 1, HASH_A)]


def test_an_on_missing_failure_propagates() -> None:
    listing = Listing.of_rows([])

    def fail(entry: Entry) -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        scan_module._vouch_in_step(
            listing, iter([Entry("a", 1, HASH_A)]), {}, Compared([], []), fail
        )


# ------------------------------------------------------------------------------ real trees


def make_tree(root: Path, seed: int) -> list[str]:
    """Files in nested folders (ASCII names and not), created in a shuffled order."""
    rnd = random.Random(seed)
    names = [
        f"{folder}{name}"
        for folder in ("", "a/", "a/b/", "b-c/", "é/", "名前/x/")
        for name in ("p.txt", "q", "Z.bin", "ü.csv", "aa")
        if rnd.random() < 0.8
    ]
    for name in rnd.sample(names, len(names)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode() * rnd.randint(0, 3))
    return sorted(names)


def state(rows: list[LocalFile], seed: int) -> tuple[list[Entry], Known]:
    """Entries and stat-cache rows for ``rows``, each file drawn into one of the cases, plus
    entries without files whose paths extend a file's or a folder's ("q" < "q.old" < "q/x"
    and "a" < "a/p.txt", as str orders them)."""
    rnd = random.Random(seed)
    entries: list[Entry] = []
    known: Known = {}
    for row in rows:
        entry = rnd.choice(ENTRY_KINDS)
        if entry == "same":
            entries.append(Entry(row.path, row.size, HASH_A, pack="p" * 64))
        elif entry == "other-hash":
            entries.append(Entry(row.path, row.size, HASH_B))
        elif entry == "other-size":
            entries.append(Entry(row.path, row.size + 1, HASH_A))
        elif entry == "link":
            entries.append(Entry(row.path, row.size, HASH_A, url="file:///elsewhere"))
        value = _row(rnd.choice(ROW_KINDS), row.size, row.mtime_ns, row.inode)
        if value is not None:
            folder, leaf = os.path.split(row.local)
            known.setdefault(folder, {})[leaf] = value
    prefix = rows[0].path.split("/")[0] + "/" if rows and "/" in rows[0].path else ""
    entries += [Entry(f"{prefix}gone-{i}", 1, HASH_A) for i in range(2)]
    taken = {e.path for e in entries}
    for row in rows[::3]:
        for extra in (f"{row.path}.old", f"{row.path}/x", row.path.rpartition("/")[0]):
            if extra and extra not in taken:
                taken.add(extra)
                entries.append(Entry(extra, 1, HASH_B))
    entries.append(Entry("~after", 1, HASH_A))
    entries.sort(key=lambda e: e.path)
    return entries, known


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("prefix", ["", "in/ds"])
def test_columns_and_rows_pair_alike_on_real_trees(tmp_path: Path, seed: int, prefix: str) -> None:
    make_tree(tmp_path, seed)
    listing = scan_folder(tmp_path, prefix, recursive=True)
    rows = scan(tmp_path, prefix, wildcards=None, recursive=True)
    assert listing.rows() == rows
    assert Listing.of_rows(rows) == listing
    entries, known = state(rows, seed)
    assert paired(listing, entries, known) == reference(rows, entries, known)


def test_compare_gives_the_same_answer_from_columns_or_rows(tmp_path: Path) -> None:
    make_tree(tmp_path, 2)
    rows = scan(tmp_path, "", wildcards=None, recursive=True)
    entries, known = state(rows, 2)
    stored: list[Any] = []

    class Cache:
        def store(self, found: Any, algorithm: str, **kwargs: Any) -> None:
            stored.append(sorted(found))

    def run(files: Any) -> Compared:
        cache: Any = Cache()
        return compare(files, iter(entries), cache, algorithm="blake3", known=known, workers=1)

    assert run(scan_folder(tmp_path, "", recursive=True)) == run(rows)
    assert stored[0] == stored[1]


def test_unchanged_files_make_nothing(tmp_path: Path) -> None:
    make_tree(tmp_path, 1)
    rows = scan(tmp_path, "", wildcards=None, recursive=True)
    known: Known = {}
    for row in rows:
        folder, leaf = os.path.split(row.local)
        known.setdefault(folder, {})[leaf] = [row.size, row.mtime_ns, row.inode, HASH_A]
    entries = [Entry(r.path, r.size, HASH_A) for r in rows]
    assert paired(scan_folder(tmp_path, "", recursive=True), entries, known) == (
        [],
        Compared([], []),
        [],
    )


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        (b"latin1-\xe9.txt", False),
        (b"overlong-\xc0\xaf", False),
        (b"sur-\xed\xa0\x80", False),
        (b"back\\slash", True),
        (b"tab\tname", True),
    ],
)
def test_names_that_are_not_plain(tmp_path: Path, name: bytes, unsafe: bool) -> None:
    """Not UTF-8: decoded with surrogates and paired in str order; unsafe: refused."""
    (tmp_path / "ok.txt").write_bytes(b"ok")
    os.close(os.open(bytes(tmp_path) + b"/" + name, os.O_CREAT | os.O_WRONLY, 0o644))
    check: Callable[[], Any] = lambda: scan_folder(tmp_path, "", recursive=True)  # noqa: E731
    if unsafe:
        with pytest.raises(UnsafePathError):
            check()
        return
    listing = check()
    rows = scan(tmp_path, "", wildcards=None, recursive=True)
    assert listing.rows() == rows
    entries, known = state(rows, 3)
    assert paired(listing, entries, known) == reference(rows, entries, known)


def test_a_file_or_missing_folder_is_handled_like_scan(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_bytes(b"1")
    assert scan_folder(tmp_path / "one.txt", "x", recursive=True).rows() == scan(
        tmp_path / "one.txt", "x", wildcards=None, recursive=True
    )
    with pytest.raises(Exception, match="no such file or folder"):
        scan_folder(tmp_path / "missing", "", recursive=True)
    assert len(scan_folder(tmp_path, "", recursive=True)) == 1
