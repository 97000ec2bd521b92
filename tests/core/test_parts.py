"""get_local_copy(part=k, num_parts=n): each of n workers gets a disjoint, deterministic share.

The files are split in path order into n contiguous runs balanced by count (ClearML's
``part`` / ``num_parts``); a part lives in a cache folder of its own, never the full tree's.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dataver
from dataver.manifest.entry import Entry
from dataver.manifest.parts import Part, check_part, select

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FILES = {f"d{i % 3}/f{i:02d}.txt": f"content {i}".encode() for i in range(10)}


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("num_parts", [1, 3, 4, 10, 13])
def test_parts_are_disjoint_contiguous_balanced_and_cover_the_version(
    finalized: Callable[..., dataver.Dataset], num_parts: int
) -> None:
    ds = finalized(FILES)
    parts = [_files(ds.get_local_copy(part=k, num_parts=num_parts)) for k in range(num_parts)]
    seen = [path for part in parts for path in part]
    assert seen == sorted(FILES)  # NOTE: disjoint, complete, and contiguous in path order
    assert {p: b for part in parts for p, b in part.items()} == FILES
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # NOTE: the first parts take the extra files


def test_a_part_is_the_same_for_every_worker(
    finalized: Callable[..., dataver.Dataset], tmp_path: Path, registry_path: Path
) -> None:
    """Another process, with another cache, computes the same split."""
    ds = finalized(FILES)
    mine = sorted(_files(ds.get_local_copy(part=1, num_parts=3)))
    code = (
        "import sys, dataver; ds = dataver.Registry(sys.argv[1]).get(sys.argv[2]); "
        "p = ds.get_local_copy(part=1, num_parts=3); "
        "print('\\n'.join(sorted(x.relative_to(p).as_posix() for x in p.rglob('*') "
        "if x.is_file())))"
    )
    env_cache = tmp_path / "other-cache"
    out = subprocess.run(
        [sys.executable, "-c", code, str(registry_path), ds.id],
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "DATAVER_CACHE_DIR": str(env_cache)},
    )
    assert out.stdout.split() == mine


def test_a_part_never_shares_the_full_trees_folder(
    finalized: Callable[..., dataver.Dataset],
) -> None:
    ds = finalized(FILES)
    part = ds.get_local_copy(part=0, num_parts=2)
    full = ds.get_local_copy()
    assert part != full
    assert _files(full) == FILES
    assert len(_files(part)) == 5
    assert ds.get_local_copy(part=0, num_parts=2) == part  # NOTE: warm: the same folder
    assert ds.get_local_copy(part=0, num_parts=5) not in (part, full)


def test_parts_of_a_subset_split_the_selected_files(
    finalized: Callable[..., dataver.Dataset],
) -> None:
    ds = finalized(FILES)
    selected = sorted(p for p in FILES if p.startswith("d1/"))
    halves = [_files(ds.get_local_copy(["d1"], part=k, num_parts=2)) for k in range(2)]
    assert [p for half in halves for p in half] == selected
    assert ds.get_local_copy(["d1"], part=0, num_parts=2) != ds.get_local_copy(["d1"])


def test_verify_checks_a_cached_part_as_a_part(
    finalized: Callable[..., dataver.Dataset],
) -> None:
    """A part tree holds only its files: verify must not report the others as damaged."""
    ds = finalized(FILES)
    ds.get_local_copy(part=2, num_parts=3)
    assert ds.verify() == []


def test_get_mutable_local_copy_of_a_part(
    finalized: Callable[..., dataver.Dataset], tmp_path: Path
) -> None:
    ds = finalized(FILES)
    out = ds.get_mutable_local_copy(tmp_path / "part", part=0, num_parts=10)
    assert _files(out) == {sorted(FILES)[0]: FILES[sorted(FILES)[0]]}


@pytest.mark.parametrize(
    ("part", "num_parts"),
    [(0, None), (None, 2), (2, 2), (-1, 2), (0, 0), (True, 2), ("0", 2), (0, 1.5)],
)
def test_part_and_num_parts_are_validated_like_clearml(
    finalized: Callable[..., dataver.Dataset], part: object, num_parts: object
) -> None:
    ds = finalized(FILES)
    with pytest.raises(dataver.ValidationError) as caught:
        ds.get_local_copy(part=part, num_parts=num_parts)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)


def test_a_part_of_an_uploading_version_is_refused(registry: dataver.Registry) -> None:
    ds = registry.create("open")
    with pytest.raises(dataver.InvalidTransitionError):
        ds.get_local_copy(part=0, num_parts=2)


def test_a_leading_slash_anchors_a_name_at_the_root(
    finalized: Callable[..., dataver.Dataset],
) -> None:
    """``/a.txt`` is only the top-level a.txt (ClearML's ``files=`` are exact paths)."""
    ds = finalized({"a.txt": b"top", "x/a.txt": b"deep", "b.txt": b"b"})
    assert _files(ds.get_local_copy(["/a.txt"])) == {"a.txt": b"top"}
    assert _files(ds.get_local_copy(["a.txt"])) == {"a.txt": b"top", "x/a.txt": b"deep"}
    assert ds.verify() == []  # NOTE: the anchored subset is re-checked as anchored


# ------------------------------------------------------------------------------ the split


class _Shard(NamedTuple):
    number: int
    count: int


class _Manifest:
    """A manifest of numbered entries cut into shards, counting the shards it loads."""

    def __init__(self, counts: list[int]) -> None:
        self.shards = tuple(_Shard(i, c) for i, c in enumerate(counts))
        self.loaded = 0
        self._entries: list[list[Entry]] = []
        n = 0
        for count in counts:
            self._entries.append([Entry(f"{i:06d}", 1, "h") for i in range(n, n + count)])
            n += count

    def load_shard(self, shard: _Shard) -> list[Entry]:
        self.loaded += 1
        return self._entries[shard.number]

    def __iter__(self):  # type: ignore[no-untyped-def]
        for shard in self.shards:
            yield from self.load_shard(shard)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=7), max_size=8),
    num_parts=st.integers(min_value=1, max_value=12),
)
def test_the_split_over_shards_matches_the_split_of_the_list(
    counts: list[int], num_parts: int
) -> None:
    manifest = _Manifest(counts)
    everything = [e.path for e in manifest]
    parts = [
        [e.path for e in select(manifest, [], Part(k, num_parts))]  # type: ignore[arg-type]
        for k in range(num_parts)
    ]
    assert [p for part in parts for p in part] == everything
    for k, part in enumerate(parts):
        start, stop = Part(k, num_parts).bounds(len(everything))
        assert part == everything[start:stop]


def test_a_part_reads_only_the_shards_it_needs() -> None:
    manifest = _Manifest([4, 4, 4, 4])
    chosen = [e.path for e in select(manifest, [], Part(1, 4))]  # type: ignore[arg-type]
    assert chosen == [f"{i:06d}" for i in range(4, 8)]
    assert manifest.loaded == 1


def test_check_part_returns_none_without_a_part() -> None:
    assert check_part(None, None) is None
    assert check_part(0, 1) == Part(0, 1)
