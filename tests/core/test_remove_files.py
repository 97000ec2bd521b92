"""remove_files (behaviour 12): folder patterns, recursive globs, and patterns matching nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FILES = {
    "top.csv": b"top",
    "readme.txt": b"readme",
    "sub/a.csv": b"a",
    "sub/b.txt": b"b",
    "sub/deep/c.csv": b"c",
    "subway/e.txt": b"e",
    "other/sub/d.txt": b"d",
}


@pytest.fixture
def parent(finalized: Callable[..., dataver.Dataset]) -> dataver.Dataset:
    return finalized(FILES)


CASES = [
    # (pattern, recursive, removed paths)
    ("sub/", True, ["other/sub/d.txt", "sub/a.csv", "sub/b.txt", "sub/deep/c.csv"]),
    ("sub", True, ["other/sub/d.txt", "sub/a.csv", "sub/b.txt", "sub/deep/c.csv"]),
    ("sub/", False, ["sub/a.csv", "sub/b.txt"]),
    ("sub", False, ["sub/a.csv", "sub/b.txt"]),
    ("sub/deep", False, ["sub/deep/c.csv"]),
    ("*.csv", True, ["sub/a.csv", "sub/deep/c.csv", "top.csv"]),
    ("*.csv", False, ["top.csv"]),
    ("sub/*.csv", False, ["sub/a.csv"]),
    ("**/*.txt", False, ["other/sub/d.txt", "readme.txt", "sub/b.txt", "subway/e.txt"]),
    ("sub/b.txt", True, ["sub/b.txt"]),
    ("/top.csv", False, ["top.csv"]),
    ("*.parquet", True, []),
    ("nothing/", True, []),
    ("su", True, []),
]


@pytest.mark.parametrize(
    ("pattern", "recursive", "removed"), CASES, ids=[f"{p}-rec{r}" for p, r, _ in CASES]
)
def test_remove_files(
    parent: dataver.Dataset,
    registry: dataver.Registry,
    read_tree: Callable[[Path], dict[str, bytes]],
    pattern: str,
    recursive: bool,
    removed: list[str],
) -> None:
    child = registry.create("ds", parents=[parent])
    manifest_before = child.record.manifest
    assert child.remove_files(pattern, recursive=recursive) == len(removed)
    expected = {path: data for path, data in FILES.items() if path not in removed}
    assert child.list_files() == sorted(expected)
    if not removed:
        # A pattern that matches nothing changes nothing at all.
        assert child.record.manifest == manifest_before
    child.finalize()
    assert list(child.diff().removed) == removed
    assert read_tree(child.get_local_copy()) == expected


def test_remove_then_remove_again_returns_zero(
    parent: dataver.Dataset, registry: dataver.Registry
) -> None:
    child = registry.create("ds", parents=[parent])
    assert child.remove_files("sub") == 4
    assert child.remove_files("sub") == 0
    assert child.remove_files("*") == 3
    assert child.list_files() == []


@pytest.mark.parametrize("pattern", ["", "/", "[unclosed"])
def test_remove_files_bad_pattern(
    parent: dataver.Dataset, registry: dataver.Registry, pattern: str
) -> None:
    child = registry.create("ds", parents=[parent])
    with pytest.raises(ValidationError, match="pattern"):
        child.remove_files(pattern)
    assert child.list_files() == sorted(FILES)
