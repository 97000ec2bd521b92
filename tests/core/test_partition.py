"""dataver.partition: N balanced parts of a source for N writers, stable as files are added.

A part is a range ``[start, stop)`` of relative paths in string order: the parts are complete
and disjoint over every string, balanced when computed (by count, or by bytes), the same for
the same files, and a file added later falls into exactly one of them. The relative paths of
a folder are the dataset paths ``add_files`` gives its files; of a URL, those
``add_external_files`` gives.
"""

from __future__ import annotations

import json
import os
import pickle
import uuid
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import fsspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dataver
from dataver import NotFoundError, Part, ValidationError, partition
from dataver.manifest.parts import Part as ReadPart
from dataver.partitioning import coerce

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    WriteTree = Callable[[Path, Mapping[str, bytes]], Path]

# Paths as a file list may hold them: any text but NUL (no file path can hold one).
PATH = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1)
# Any string at all, NUL included: the parts must cover these too.
ANY = st.text(st.characters(blacklist_categories=("Cs",)))
# Dataset paths (for folders and URLs): a few components of names that sort in tricky ways.
NAME = st.text(alphabet="aAz_-.é0", min_size=1, max_size=4).filter(lambda s: s not in {".", ".."})
DATASET_PATH = st.lists(NAME, min_size=1, max_size=3).map("/".join)
PARTS = st.integers(min_value=1, max_value=12)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_complete(parts: list[Part], n: int) -> None:
    """The parts are n, in order, and tile the whole string space."""
    assert [p.index for p in parts] == list(range(n))
    assert all(p.count == n for p in parts)
    assert parts[0].start is None
    assert parts[-1].stop is None
    for before, after in pairwise(parts):
        assert before.stop is not None
        assert before.stop == after.start
    bounds = [p.start for p in parts[1:]]
    assert all(a is not None and b is not None and a < b for a, b in pairwise(bounds))


def _owners(parts: list[Part], path: str) -> list[int]:
    return [p.index for p in parts if p.contains(path)]


def _memory_tree(files: Mapping[str, bytes]) -> str:
    """A fresh ``memory://`` folder holding ``files``; its URL."""
    url = f"memory://partition-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    root = url.removeprefix("memory://")
    fs.mkdir(f"/{root}")
    for path, data in files.items():
        fs.pipe(f"/{root}/{path}", data)
    return url


# --------------------------------------------------------------------------- properties


@FAST
@given(paths=st.lists(PATH, max_size=40), n=PARTS, later=st.lists(ANY, max_size=20))
def test_parts_are_complete_and_disjoint_for_any_paths(
    paths: list[str], n: int, later: list[str]
) -> None:
    parts = partition(paths, n)
    _check_complete(parts, n)
    for path in [*paths, *later]:
        assert len(_owners(parts, path)) == 1, path
    unique = sorted(set(paths))
    selected = [p.select(unique) for p in parts]
    assert [path for chosen in selected for path in chosen] == unique  # contiguous, in order
    assert [len(chosen) for chosen in selected] == [p.files for p in parts]


@FAST
@given(paths=st.lists(PATH, max_size=40), n=PARTS)
def test_parts_by_count_differ_by_at_most_one_file(paths: list[str], n: int) -> None:
    parts = partition(paths, n)
    sizes = [p.files for p in parts]
    assert sum(sizes) == len(set(paths))
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # NOTE: the first parts take the extra files
    # NOTE: the same deal as the read side, get_local_copy(part=k, num_parts=n)
    assert sizes == [
        (lambda b: b[1] - b[0])(ReadPart(k, n).bounds(len(set(paths)))) for k in range(n)
    ]


@FAST
@given(
    files=st.dictionaries(DATASET_PATH, st.integers(0, 300), max_size=25).filter(
        lambda d: not any(other.startswith(p + "/") for p in d for other in d)
    ),
    n=PARTS,
)
def test_parts_by_bytes_never_exceed_a_share_plus_the_largest_file(
    files: dict[str, int], n: int
) -> None:
    url = _memory_tree({path: b"x" * size for path, size in files.items()})
    parts = partition(url, n, by="bytes")
    _check_complete(parts, n)
    total, largest = sum(files.values()), max(files.values(), default=0)
    assert sum(p.bytes for p in parts) == total
    assert sum(p.files for p in parts) == len(files)
    for part in parts:
        assert part.bytes * n <= total + largest * n, parts
        assert part.bytes == sum(files[p] for p in part.select(files))
        assert part.files == len(part.select(files))
        assert (part.by, part.source) == ("bytes", url)


@FAST
@given(paths=st.lists(PATH, max_size=30), n=PARTS, seed=st.randoms())
def test_parts_are_deterministic(paths: list[str], n: int, seed: Any) -> None:
    shuffled = list(paths)
    seed.shuffle(shuffled)
    assert partition(paths, n) == partition(shuffled, n) == partition(tuple(paths), n)


@FAST
@given(
    paths=st.lists(PATH, min_size=1, max_size=30),
    n=PARTS,
    later=st.lists(PATH, min_size=1, max_size=30),
)
def test_parts_are_stable_as_files_are_added(paths: list[str], n: int, later: list[str]) -> None:
    """Boundaries computed once: the old files keep their parts, every new one finds one."""
    parts = partition(paths, n)
    before = {path: _owners(parts, path) for path in paths}
    everything = sorted({*paths, *later})
    chosen = [p.select(everything) for p in parts]
    assert sorted(path for c in chosen for path in c) == everything
    assert all(_owners(parts, path) == before[path] for path in paths)


# --------------------------------------------------------------------------- sources

TREE = {
    "a.csv": b"1" * 10,
    "a-b.csv": b"2" * 20,
    "a.b/c.csv": b"3" * 30,
    "a/b.csv": b"4" * 40,
    "a/z/deep.txt": b"5" * 50,
    "Z.txt": b"6" * 60,
    "é.txt": b"7" * 70,
    "_x.jpg": b"8" * 80,
}


@pytest.mark.parametrize("n", [1, 2, 3, 8, 11])
@pytest.mark.parametrize("by", ["count", "bytes"])
def test_a_folders_paths_are_those_add_files_gives(
    tmp_path: Path, write_tree: WriteTree, n: int, by: Any
) -> None:
    folder = write_tree(tmp_path / "src", TREE)
    ds = dataver.Registry(tmp_path / "reg").create("x")
    ds.add_files(folder)
    listed = ds.list_files()
    sizes = {e.path: e.size for e in ds.entries()}

    parts = partition(folder, n, by=by)

    _check_complete(parts, n)
    assert [path for p in parts for path in p.select(listed)] == listed
    assert [p.files for p in parts] == [len(p.select(listed)) for p in parts]
    assert [p.bytes for p in parts] == [sum(sizes[f] for f in p.select(listed)) for p in parts]
    assert all(p.source == str(folder) for p in parts)


def test_a_relative_folder_is_recorded_as_given(
    tmp_path: Path, write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "src", TREE)
    monkeypatch.chdir(tmp_path)
    parts = partition("src", 2)
    assert [p.source for p in parts] == ["src", "src"]
    assert sum(p.files for p in parts) == len(TREE)


def test_wildcards_and_recursion_select_what_add_files_would(
    tmp_path: Path, write_tree: WriteTree
) -> None:
    folder = write_tree(tmp_path / "src", TREE)
    for kwargs in ({"wildcard": "*.csv"}, {"wildcard": ["*.txt", "a"]}, {"recursive": False}):
        ds = dataver.Registry(tmp_path / "reg").create(f"x{uuid.uuid4().hex[:6]}")
        ds.add_files(folder, **kwargs)
        listed = ds.list_files()
        parts = partition(folder, 2, **kwargs)
        assert [path for p in parts for path in p.select(listed)] == listed, kwargs
        assert sum(p.files for p in parts) == len(listed), kwargs


def test_a_single_file_is_its_name(tmp_path: Path, write_tree: WriteTree) -> None:
    folder = write_tree(tmp_path / "src", TREE)
    (only,) = partition(folder / "a" / "b.csv", 1)
    assert (only.files, only.bytes) == (1, 40)
    assert only.contains("b.csv")


def test_a_link_outside_the_folder_is_refused_as_add_files_refuses_it(
    tmp_path: Path, write_tree: WriteTree
) -> None:
    folder = write_tree(tmp_path / "src", {"in.txt": b"in"})
    outside = write_tree(tmp_path / "elsewhere", {"secret.txt": b"s"})
    os.symlink(outside / "secret.txt", folder / "link.txt")

    with pytest.raises(ValidationError, match="outside") as refused:
        partition(folder, 2)

    assert refused.value.links == [str(folder / "link.txt")]
    assert sum(p.files for p in partition(folder, 2, symlinks="skip")) == 1
    assert sum(p.files for p in partition(folder, 2, symlinks="follow")) == 2


def test_an_empty_folder_gives_n_empty_parts_that_still_cover_everything(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    parts = partition(tmp_path / "empty", 4)
    _check_complete(parts, 4)
    assert [p.files for p in parts] == [0, 0, 0, 0]
    assert _owners(parts, "any/file.txt") == [3]  # NOTE: files added later: the last part


def test_fewer_files_than_parts(tmp_path: Path) -> None:
    parts = partition(["b.txt", "d.txt"], 5)
    _check_complete(parts, 5)
    assert [p.files for p in parts] == [1, 1, 0, 0, 0]
    assert [_owners(parts, p) for p in ("a.txt", "b.txt", "c.txt", "d.txt")] == [[0], [0], [0], [1]]
    assert _owners(parts, "e.txt") == [4]  # NOTE: after the last file: the last part
    assert [p.start for p in parts[2:]] == ["d.txt\0", "d.txt\0\0", "d.txt\0\0\0"]


def test_a_file_holding_several_shares_of_the_bytes_leaves_parts_empty(
    tmp_path: Path, write_tree: WriteTree
) -> None:
    folder = write_tree(tmp_path / "src", {"a": b"x", "big": b"x" * 1000, "c": b"x"})
    parts = partition(folder, 4, by="bytes")
    _check_complete(parts, 4)
    # NOTE: each cut at the file boundary nearest its target (the earlier one on a tie)
    assert [p.select(["a", "big", "c"]) for p in parts] == [["a"], [], ["big"], ["c"]]
    assert [p.bytes for p in parts] == [1, 0, 1000, 1]
    assert parts[1].start == "a\0"


def test_a_memory_url_lists_what_add_external_files_links(tmp_path: Path) -> None:
    url = _memory_tree(TREE)
    ds = dataver.Registry(tmp_path / "reg").create("links")
    ds.add_external_files(url)
    listed = ds.list_files()

    parts = partition(url, 3, by="bytes")

    assert [path for p in parts for path in p.select(listed)] == listed
    assert sum(p.bytes for p in parts) == sum(len(b) for b in TREE.values())
    assert all(p.source == url for p in parts)
    assert sum(p.files for p in partition(url, 2, wildcard="*.txt")) == 3
    assert sum(p.files for p in partition(url, 2, recursive=False)) == 5


def test_a_file_url_is_listed_by_fsspec(tmp_path: Path, write_tree: WriteTree) -> None:
    folder = write_tree(tmp_path / "src", TREE)
    by_url = partition(folder.as_uri(), 3)
    by_path = partition(folder, 3)
    assert [(p.start, p.stop, p.files, p.bytes) for p in by_url] == [
        (p.start, p.stop, p.files, p.bytes) for p in by_path
    ]


def test_a_file_list_is_partitioned_as_the_strings_given(
    tmp_path: Path, write_tree: WriteTree
) -> None:
    folder = write_tree(tmp_path / "src", TREE)
    absolute = [str(folder / p) for p in TREE]
    parts = partition(absolute, 2, by="bytes")
    _check_complete(parts, 2)
    assert sum(p.bytes for p in parts) == sum(len(b) for b in TREE.values())
    assert [x for p in parts for x in p.select(sorted(absolute))] == sorted(absolute)
    assert all(p.source is None for p in parts)
    # NOTE: by count, nothing is read: paths that do not exist (yet) are fine
    assert [p.files for p in partition(["x/1", "x/2", folder / "a.csv", "x/1"], 2)] == [2, 1]


def test_a_file_list_takes_no_wildcard() -> None:
    with pytest.raises(ValidationError, match="filter a file list"):
        partition(["a.csv", "b.txt"], 2, wildcard="*.csv")


def test_a_missing_listed_file_is_named_when_bytes_are_read(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file") as missing:
        partition([str(tmp_path / "gone.txt"), str(tmp_path / "also.txt")], 2, by="bytes")
    assert missing.value.missing == sorted([str(tmp_path / "gone.txt"), str(tmp_path / "also.txt")])
    with pytest.raises(ValidationError, match="not a regular file"):
        partition([str(tmp_path)], 1, by="bytes")


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("n", [0, -1, True, False, 1.0, "2", None])
def test_a_bad_number_of_parts_is_refused_before_listing(n: Any, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="n must be") as bad:
        partition(tmp_path / "does-not-exist", n)
    assert bad.value.n == n


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "size"}, "by must be 'count' or 'bytes'"),
        ({"symlinks": "ignore"}, "symlinks must be"),
        ({"wildcard": "[a"}, "unclosed"),
        ({"wildcard": ""}, "empty pattern"),
    ],
)
def test_bad_options_are_refused_before_listing(
    kwargs: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match=message):
        partition(tmp_path / "does-not-exist", 2, **kwargs)


def test_a_missing_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file or folder: nope") as missing:
        partition("nope", 2)
    assert missing.value.path == "nope"
    url = f"memory://nothing-{uuid.uuid4().hex}"
    with pytest.raises(NotFoundError, match=url):
        partition(url, 2)


@pytest.mark.parametrize("source", [42, ["a", 3], ["a", ""], ["a\0b"], {"a": 1}])
def test_a_source_of_the_wrong_kind_is_refused(source: Any) -> None:
    with pytest.raises(ValidationError):
        partition(source, 2)


def test_credentials_in_a_url_are_never_shown() -> None:
    secret = f"memory://user:secret@nothing-{uuid.uuid4().hex}"
    with pytest.raises(NotFoundError) as missing:
        partition(secret, 1)
    assert "secret" not in str(missing.value)
    assert "***@nothing-" in missing.value.path


# --------------------------------------------------------------------------- Part


def test_to_dict_and_from_dict_round_trip_through_json(tmp_path: Path) -> None:
    parts = partition(["b", "a", "c"], 5, by="count")
    documents = json.loads(json.dumps([p.to_dict() for p in parts]))
    assert [Part.from_dict(d) for d in documents] == parts
    assert [coerce(d) for d in documents] == parts
    assert coerce(parts[0]) is parts[0]
    assert pickle.loads(pickle.dumps(parts)) == parts
    assert set(documents[0]) == {
        "index", "count", "start", "stop", "files", "bytes", "source", "by"
    }  # fmt: skip


def test_from_dict_fills_the_optional_fields() -> None:
    part = Part.from_dict({"index": 1, "count": 2, "start": "m", "stop": None})
    assert (part.files, part.bytes, part.source, part.by) == (0, 0, None, "count")


GOOD = {"index": 1, "count": 3, "start": "b", "stop": "m", "files": 2, "bytes": 5}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"extra": 1}, "extra"),
        ({"index": None}, "index"),
        ({"index": True}, "index"),
        ({"index": 3}, "index"),
        ({"index": -1}, "index"),
        ({"count": 0}, "count"),
        ({"count": "3"}, "count"),
        ({"start": None}, "start"),
        ({"start": 5}, "start"),
        ({"stop": None}, "stop"),
        ({"stop": "b"}, "stop"),
        ({"stop": "a"}, "stop"),
        ({"files": -1}, "files"),
        ({"bytes": 1.5}, "bytes"),
        ({"by": "size"}, "by"),
        ({"source": 3}, "source"),
    ],
)
def test_from_dict_names_the_bad_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=repr(field)) as bad:
        Part.from_dict({**GOOD, **change})
    assert bad.value.field == field


def test_from_dict_refuses_what_is_not_a_part() -> None:
    with pytest.raises(ValidationError, match="'stop' is missing"):
        Part.from_dict({"index": 0, "count": 1, "start": None})
    with pytest.raises(ValidationError, match="must be a mapping"):
        Part.from_dict(["index", 0])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="must be a mapping"):
        coerce("part 0")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'start' must be None on part 0"):
        Part(0, 2, "a", "b")


def test_one_part_holds_everything() -> None:
    (whole,) = partition(["x", "y"], 1)
    assert (whole.start, whole.stop) == (None, None)
    assert whole.select(["", "\0", "zzz", "x"]) == ["", "\0", "zzz", "x"]


def test_the_read_side_part_is_unchanged() -> None:
    """dataver.Part is the write side; the read side's Part keeps its module and meaning."""
    assert dataver.Part is Part
    assert ReadPart(1, 3).bounds(10) == (4, 7)
    assert dataver.partition is partition
