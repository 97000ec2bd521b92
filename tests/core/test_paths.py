"""Dataset paths: validation (nothing may leave the dataset) and PathMatcher glob semantics."""

from __future__ import annotations

import pytest

from dataver.errors import UnsafePathError, ValidationError
from dataver.paths import (
    MAX_PATH_LENGTH,
    PathMatcher,
    any_match,
    join,
    normalize_prefix,
    validate_path,
)


@pytest.mark.parametrize(
    "path",
    ["a", "a.txt", "a/b/c.txt", "sub/.hidden", "a b/c d", "ünï/cödé", "x..y", "...", "a/-b"],
)
def test_validate_path_accepts_safe_relative_paths(path: str) -> None:
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("/", "absolute"),
        ("..", "'..'"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a/..", "'..'"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("a\\b", "backslash"),
        ("..\\..\\windows", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control"),
        ("a\x7f", "control"),
        ("x" * (MAX_PATH_LENGTH + 1), "longer"),
    ],
)
def test_validate_path_rejects_unsafe_paths(path: str, reason: str) -> None:
    with pytest.raises(UnsafePathError, match=reason) as info:
        validate_path(path)
    assert info.value.fields == {"path": path}
    # UnsafePathError is a ValidationError and a ValueError: callers may catch either.
    assert isinstance(info.value, ValidationError)
    assert isinstance(info.value, ValueError)


def test_validate_path_accepts_exactly_the_maximum_length() -> None:
    path = "x" * MAX_PATH_LENGTH
    assert validate_path(path) == path


@pytest.mark.parametrize("value", [None, 3, b"a"])
def test_validate_path_rejects_non_strings(value: object) -> None:
    with pytest.raises(UnsafePathError):
        validate_path(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (None, ""),
        ("", ""),
        ("/", ""),
        ("a", "a"),
        ("/a/b/", "a/b"),
        ("a\\b", "a/b"),
        ("train/images", "train/images"),
    ],
)
def test_normalize_prefix(prefix: str | None, expected: str) -> None:
    assert normalize_prefix(prefix) == expected


@pytest.mark.parametrize("prefix", ["..", "../up", "a/../../b", "a//b", "a/./b", "a\x00"])
def test_normalize_prefix_refuses_to_leave_the_dataset(prefix: str) -> None:
    with pytest.raises(UnsafePathError):
        normalize_prefix(prefix)


def test_join() -> None:
    assert join("", "a.txt") == "a.txt"
    assert join("x/y", "a.txt") == "x/y/a.txt"
    with pytest.raises(UnsafePathError):
        join("x", "../a")


# --------------------------------------------------------------------------- PathMatcher

PATHS = [
    "a.csv",
    "a.txt",
    "sub/b.csv",
    "sub/c.txt",
    "sub/deep/d.csv",
    "subway/e.csv",
    "other/sub/f.txt",
    "other/g.csv",
    "data.csv/h.bin",
]


def selected(pattern: str, recursive: bool) -> list[str]:
    matcher = PathMatcher(pattern, recursive=recursive)
    return [p for p in PATHS if matcher.matches(p)]


@pytest.mark.parametrize("pattern", ["sub", "sub/", "/sub", "/sub/"])
def test_folder_pattern_selects_the_folders_files_recursively(pattern: str) -> None:
    # Recursive: the folder may sit at any depth, and everything inside it is selected.
    assert selected(pattern, recursive=True) == [
        "sub/b.csv",
        "sub/c.txt",
        "sub/deep/d.csv",
        "other/sub/f.txt",
    ]


@pytest.mark.parametrize("pattern", ["sub", "sub/"])
def test_folder_pattern_non_recursive_selects_only_direct_children_at_the_root(
    pattern: str,
) -> None:
    assert selected(pattern, recursive=False) == ["sub/b.csv", "sub/c.txt"]


def test_star_csv_recursive_matches_at_any_depth() -> None:
    # "data.csv/h.bin" is selected too: "data.csv" names a folder, and a folder selects its files.
    assert selected("*.csv", recursive=True) == [
        "a.csv",
        "sub/b.csv",
        "sub/deep/d.csv",
        "subway/e.csv",
        "other/g.csv",
        "data.csv/h.bin",
    ]


def test_star_csv_non_recursive_matches_only_the_root() -> None:
    # Anchored at the root: "a.csv", and the files directly inside the root folder "data.csv".
    assert selected("*.csv", recursive=False) == ["a.csv", "data.csv/h.bin"]


def test_star_never_crosses_a_slash() -> None:
    assert selected("sub/*.csv", recursive=False) == ["sub/b.csv"]
    # "s*" names the root folders "sub" and "subway": their direct files only, nothing deeper.
    assert selected("s*", recursive=False) == ["sub/b.csv", "sub/c.txt", "subway/e.csv"]
    assert not PathMatcher("*", recursive=False).matches("sub/deep/d.csv")
    assert PathMatcher("*", recursive=False).matches("a.csv")


def test_double_star_crosses_folders_and_matches_zero_folders() -> None:
    assert selected("**/*.csv", recursive=False) == [
        "a.csv",
        "sub/b.csv",
        "sub/deep/d.csv",
        "subway/e.csv",
        "other/g.csv",
        "data.csv/h.bin",
    ]
    assert selected("sub/**/*.csv", recursive=False) == ["sub/b.csv", "sub/deep/d.csv"]
    assert selected("sub/**", recursive=False) == ["sub/b.csv", "sub/c.txt", "sub/deep/d.csv"]
    assert selected("**", recursive=False) == PATHS


def test_question_mark_and_brackets() -> None:
    assert selected("?.csv", recursive=False) == ["a.csv"]
    assert selected("??.csv", recursive=False) == []
    assert selected("sub/[bc].*", recursive=False) == ["sub/b.csv", "sub/c.txt"]
    assert selected("sub/[!b].*", recursive=False) == ["sub/c.txt"]
    assert selected("sub/[a-b].csv", recursive=False) == ["sub/b.csv"]


def test_regex_characters_are_literal() -> None:
    matcher = PathMatcher("a+b(1).txt", recursive=False)
    assert matcher.matches("a+b(1).txt")
    assert not matcher.matches("aab1.txt")
    assert not PathMatcher("a.txt", recursive=False).matches("abtxt")


def test_exact_file_pattern() -> None:
    assert selected("sub/c.txt", recursive=False) == ["sub/c.txt"]
    assert selected("c.txt", recursive=False) == []
    assert selected("c.txt", recursive=True) == ["sub/c.txt"]


@pytest.mark.parametrize("pattern", ["", "/", "//", "[abc", "a[", "[z-a]", "[]"])
def test_bad_patterns_raise_validation_error(pattern: str) -> None:
    with pytest.raises(ValidationError, match="pattern"):
        PathMatcher(pattern)


def test_non_string_pattern_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        PathMatcher(None)  # type: ignore[arg-type]


def test_any_match() -> None:
    csv, txt = PathMatcher("*.csv"), PathMatcher("*.txt")
    assert any_match([], "anything/at/all")
    assert any_match([csv, txt], "x/y.txt")
    assert not any_match([csv, txt], "x/y.bin")
