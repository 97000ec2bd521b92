"""The native walk kept in C (``dataver_native.walk``, ``dataver.scan.FolderWalk``).

Its rows must be scan()'s rows, and its pairing (``Walk.vouch``) must give what the Python
loop gives on the same files: the same files to hash (as LocalFile rows, with their
entries), the same vouched entries, in the same order. Names that are not plain UTF-8
make it decline, so that the full path checks run.
"""

from __future__ import annotations

import os
import random
import sys
from typing import TYPE_CHECKING, Any

import pytest

from dataver import scan as scan_module
from dataver.errors import UnsafePathError
from dataver.manifest.entry import Entry
from dataver.scan import Compared, FolderWalk, LocalFile, compare, scan, scan_folder

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="not built on Windows")

HASH_A, HASH_B = "a" * 64, "b" * 64


def make_tree(root: Path, seed: int) -> list[str]:
    """Files in nested folders with plain names (ASCII and not), shuffled creation order."""
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


def state(
    root: Path, rows: list[LocalFile], seed: int
) -> tuple[list[Entry], dict[str, dict[str, list[Any]]]]:
    """Entries and stat-cache rows for ``rows``, each file drawn into one of the cases."""
    rnd = random.Random(seed)
    entries: list[Entry] = []
    known: dict[str, dict[str, list[Any]]] = {}
    for row in rows:
        entry = rnd.choice(["same", "other-hash", "other-size", "link", "none"])
        if entry == "same":
            entries.append(Entry(row.path, row.size, HASH_A, pack="p" * 64))
        elif entry == "other-hash":
            entries.append(Entry(row.path, row.size, HASH_B))
        elif entry == "other-size":
            entries.append(Entry(row.path, row.size + 1, HASH_A))
        elif entry == "link":
            entries.append(Entry(row.path, row.size, HASH_A, url="file:///elsewhere"))
        cached = rnd.choice(["match", "size", "mtime", "inode", "short", "absent"])
        head, _, leaf = row.local.rpartition("/")
        value = {
            "match": [row.size, row.mtime_ns, row.inode, HASH_A],
            "size": [row.size + 1, row.mtime_ns, row.inode, HASH_A],
            "mtime": [row.size, row.mtime_ns + 1, row.inode, HASH_A],
            "inode": [row.size, row.mtime_ns, row.inode + 1, HASH_A],
            "short": [row.size],
        }.get(cached)
        if value is not None:
            known.setdefault(head, {})[leaf] = value
    prefix = rows[0].path.split("/")[0] + "/" if rows and "/" in rows[0].path else ""
    entries += [Entry(f"{prefix}gone-{i}", 1, HASH_A) for i in range(2)]  # no file
    # NOTE: entries without files whose paths extend a file's path, or a folder's: the
    # pairing must order "q" < "q.old" < "q/x" and "a" < "a/p.txt" as str does.
    taken = {e.path for e in entries}
    for row in rows[::3]:
        for extra in (f"{row.path}.old", f"{row.path}/x", row.path.rpartition("/")[0]):
            if extra and extra not in taken:
                taken.add(extra)
                entries.append(Entry(extra, 1, HASH_B))
    entries.append(Entry("~after", 1, HASH_A))
    entries.sort(key=lambda e: e.path)
    return entries, known


def python_pairing(
    rows: list[LocalFile], entries: list[Entry], known: dict[str, Any]
) -> tuple[Any, Compared]:
    result = Compared([], [])
    return scan_module._vouch_in_step(rows, iter(entries), known, result, None), result


def walk_pairing(
    walk: FolderWalk, entries: list[Entry], known: dict[str, Any]
) -> tuple[Any, Compared]:
    result = Compared([], [])
    return walk.vouch(iter(entries), known, result), result


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("prefix", ["", "in/ds"])
def test_pairing_matches_the_python_loop(tmp_path: Path, seed: int, prefix: str) -> None:
    make_tree(tmp_path, seed)
    walk = scan_folder(tmp_path, prefix, recursive=True)
    assert isinstance(walk, FolderWalk)
    rows = scan(tmp_path, prefix, wildcards=None, recursive=True)
    assert walk.rows() == rows
    entries, known = state(tmp_path, rows, seed)
    native_todo, native_result = walk_pairing(walk, entries, known)
    python_todo, python_result = python_pairing(rows, entries, known)
    assert native_todo == python_todo
    assert all(type(f) is LocalFile for f, _ in native_todo)
    assert native_result == python_result
    assert all(type(e) is Entry for e in (*native_result.added, *native_result.modified))


def test_unchanged_files_make_nothing(tmp_path: Path) -> None:
    make_tree(tmp_path, 1)
    rows = scan(tmp_path, "", wildcards=None, recursive=True)
    known: dict[str, dict[str, list[Any]]] = {}
    for row in rows:
        head, _, leaf = row.local.rpartition("/")
        known.setdefault(head, {})[leaf] = [row.size, row.mtime_ns, row.inode, HASH_A]
    entries = [Entry(r.path, r.size, HASH_A) for r in rows]
    walk = scan_folder(tmp_path, "", recursive=True)
    assert isinstance(walk, FolderWalk)
    todo, result = walk_pairing(walk, entries, known)
    assert todo == []
    assert result == Compared([], [])


def test_compare_gives_the_same_answer_from_a_walk_or_rows(tmp_path: Path) -> None:
    make_tree(tmp_path, 2)
    rows = scan(tmp_path, "", wildcards=None, recursive=True)
    entries, known = state(tmp_path, rows, 2)

    class Cache:
        def store(self, *args: Any, **kwargs: Any) -> None:
            list(args[0])

    def run(files: Any) -> Compared:
        return compare(files, iter(entries), Cache(), algorithm="blake3", known=known, workers=1)  # type: ignore[arg-type]

    assert run(scan_folder(tmp_path, "", recursive=True)) == run(rows)


@pytest.mark.parametrize(
    "name",
    [b"latin1-\xe9.txt", b"back\\slash", b"tab\tname", b"overlong-\xc0\xaf", b"sur-\xed\xa0\x80"],
)
def test_names_that_are_not_plain_make_it_decline(tmp_path: Path, name: bytes) -> None:
    (tmp_path / "ok.txt").write_bytes(b"ok")
    os.close(os.open(bytes(tmp_path) + b"/" + name, os.O_CREAT | os.O_WRONLY, 0o644))
    walk = scan_folder(tmp_path, "", recursive=True)
    assert isinstance(walk, FolderWalk)
    entries = iter([Entry("ok.txt", 2, HASH_A)])
    assert walk.vouch(entries, {}, Compared([], [])) is None
    assert next(entries).path == "ok.txt"  # declined before reading any entry
    if b"\\" in name or b"\t" in name:
        with pytest.raises(UnsafePathError):
            walk.rows()  # the full checks name the unsafe path
    else:
        assert walk.rows() == scan(tmp_path, "", wildcards=None, recursive=True)


def test_a_file_or_missing_folder_is_handled_like_scan(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_bytes(b"1")
    assert scan_folder(tmp_path / "one.txt", "x", recursive=True) == scan(
        tmp_path / "one.txt", "x", wildcards=None, recursive=True
    )
    with pytest.raises(Exception, match="no such file or folder"):
        scan_folder(tmp_path / "missing", "", recursive=True)
    walk = scan_folder(tmp_path, "", recursive=True)
    assert len(walk) == 1
