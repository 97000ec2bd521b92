"""A writer's memory stays bounded (issue 21): it scans, hashes, uploads and stores its changes
a slice at a time, later calls read earlier slices back, overlapping runs merge at commit.

The slice size is made small here (``dataver.ops.runs.SLICE``) so that tens of thousands of
files make many slices; nothing is timed.
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any

import pytest

import dataver
from dataver.layout import journal_prefix
from dataver.manifest.staged import read_changes
from dataver.ops import runs as runs_module
from dataver.scan import Listing, scan, scan_folder, scan_pieces

if TYPE_CHECKING:
    from pathlib import Path

    from dataver.api.writer import Writer


def _folder(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def _content(ds: dataver.Dataset) -> dict[str, tuple[int, str | None, str | None]]:
    """What a version holds, locations aside: path -> (size, hash, url)."""
    ds.reload()
    return {e.path: (e.size, e.hash, e.url) for e in ds._manifest()}


def _sets(registry: dataver.Registry, ds: dataver.Dataset, name: str) -> list[list[str]]:
    """The paths of each change set the writer committed, in order."""
    [record] = [w for w in ds.writers() if w.name == name]
    assert record.committed is not None
    store = registry.backend.store
    return [sorted(read_changes(store, ref)) for ref in record.committed.changes]


def _ascending_and_disjoint(sets: list[list[str]]) -> None:
    flat = [p for paths in sets for p in paths]
    assert flat == sorted(set(flat)), "change sets overlap or are out of order"
    assert all(0 < len(paths) <= runs_module.CHANGE_SET for paths in sets)


@pytest.fixture
def slice_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_slice(size: int) -> None:
        monkeypatch.setattr(runs_module, "SLICE", size)

    return set_slice


def test_30000_files_in_slices(
    registry: dataver.Registry, tmp_path: Path, slice_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30,000 files in slices of 1,000: 30 uploads and runs, never more than two slices of
    changes or one slice of scanned files in memory, and the right content at the end."""
    slice_of(1000)
    files = {f"d{i // 1000:02d}/f{i:05d}.txt": f"file {i}" for i in range(30_000)}
    source = _folder(tmp_path / "src", files)
    largest = {"buffer": 0, "piece": 0, "flushes": 0}
    put, flush = runs_module.Runs.put, runs_module.Runs.flush

    def spy_put(self: runs_module.Runs, changes: Any) -> None:
        put(self, changes)
        largest["buffer"] = max(largest["buffer"], len(self.buffer))

    def spy_flush(self: runs_module.Runs) -> None:
        largest["flushes"] += bool(self.buffer)
        largest["buffer"] = max(largest["buffer"], len(self.buffer))
        flush(self)

    monkeypatch.setattr(runs_module.Runs, "put", spy_put)
    monkeypatch.setattr(runs_module.Runs, "flush", spy_flush)
    pieces = scan_pieces

    def spy_pieces(*args: Any, **kwargs: Any) -> Any:
        for piece in pieces(*args, **kwargs):
            largest["piece"] = max(largest["piece"], len(piece))
            yield piece

    monkeypatch.setattr("dataver.ops.pieces.scan_pieces", spy_pieces)

    ds = registry.create("many")
    assert ds.add_files(source, dataset_path="data", writer="w") == 30_000
    assert largest["flushes"] == 30
    assert largest["piece"] == 1000
    assert largest["buffer"] < 2 * 1000
    store = registry.backend.store
    journals = list(store.list(journal_prefix(ds.id)))
    assert len(journals) >= 30  # NOTE: one pack (and its journal) per slice at least
    sets = _sets(registry, ds, "w")
    assert len(sets) == 30  # NOTE: 30 runs of one set each, disjoint: kept as stored
    _ascending_and_disjoint(sets)
    [record] = ds.writers()
    assert record.committed is not None
    assert record.committed.files == 30_000
    assert record.committed.bytes == sum(len(t) for t in files.values())
    ds.finalize()
    assert ds.stats.files == 30_000
    copy = ds.get_local_copy()
    for i in (0, 999, 1000, 17_345, 29_999):
        rel = f"d{i // 1000:02d}/f{i:05d}.txt"
        assert (copy / "data" / rel).read_text() == f"file {i}"
    assert ds.verify() == []


def test_overlapping_calls_merge_later_wins(
    registry: dataver.Registry, tmp_path: Path, slice_of: Any
) -> None:
    """Calls whose paths overlap: each is a run of its own, merged at commit; the later call
    wins on a path, removals see what earlier calls added, re-adding replaces."""
    slice_of(50)
    a = _folder(tmp_path / "a", {f"f{i:03d}.txt": f"a{i}" for i in range(300)})
    b = _folder(tmp_path / "b", {f"f{i:03d}.txt": f"b{i}" for i in range(100, 400)})
    c = _folder(tmp_path / "c", {"f005.txt": "c5", "f150.txt": "c150"})
    ds = registry.create("overlap")
    with ds.writer("w") as w:
        assert w.add_files(a, dataset_path="d") == 300
        assert w.add_files(b, dataset_path="d") == 300
        assert w.remove_files("d/f00*") == 10  # NOTE: added by the first call, seen
        assert w.add_files(c, dataset_path="d") == 2  # NOTE: f005 again, f150 replaced
        assert w.add_files(c, dataset_path="d") == 0  # NOTE: what it sees is c already
    sets = _sets(registry, ds, "w")
    _ascending_and_disjoint(sets)
    assert sum(map(len, sets)) == 400
    ds.finalize()
    copy = ds.get_local_copy()
    expected = {f"f{i:03d}.txt": f"a{i}" for i in range(10, 100)}
    expected.update({f"f{i:03d}.txt": f"b{i}" for i in range(100, 400)})
    expected.update({"f005.txt": "c5", "f150.txt": "c150"})
    assert {p.name: p.read_text() for p in (copy / "d").iterdir()} == expected
    assert ds.stats.files == len(expected) == 391


def _random_ops(root: Path, rng: random.Random, rounds: int) -> list[tuple[str, Any]]:
    """A random sequence of calls over a few small folders with overlapping names."""
    names = ["a", "a-b", "a.b", "b", "x", "x-1", "z"]
    ops: list[tuple[str, Any]] = []
    for r in range(rounds):
        folder = root / f"src{r}"
        files: dict[str, str] = {}
        for _ in range(rng.randint(0, 25)):
            depth = rng.randint(0, 2)
            leaf = rng.choice(names) + rng.choice([".t", ".t", ""])
            parts = [rng.choice(names) for _ in range(depth)] + [leaf]
            files["/".join(parts)] = rng.choice(["1", "2", "3", "long" * rng.randint(1, 3)])
        folder.mkdir(parents=True)
        clean = {
            p: t
            for p, t in files.items()
            if not any(q != p and (q.startswith(p + "/") or p.startswith(q + "/")) for q in files)
        }
        _folder(folder, clean)
        prefix = rng.choice(["", "p", "p/q"])
        kind = rng.choice(["add", "add", "sync", "remove", "file", "link", "part"])
        if kind == "remove":
            ops.append(("remove", rng.choice(["*.t", "a*", "p/q", "x-1.t", "nothing"])))
        elif kind == "file" and clean:
            ops.append(("file", (folder / sorted(clean)[0], prefix)))
        elif kind == "link" and clean:
            ops.append(("link", (folder.as_uri(), prefix)))
        elif kind == "sync":
            ops.append(("sync", (folder, prefix)))
        elif kind == "part" and clean:
            cut = sorted(clean)[rng.randrange(len(clean))]
            part = _Part(cut, rng.random() < 0.5)
            ops.append((rng.choice(["sync-part", "add-part"]), (folder, prefix, part)))
        else:
            ops.append(("add", (folder, prefix)))
    return ops


class _Part:
    """A stand-in for a part of a folder (dataver.partition): the paths below or from ``cut``.

    NOTE: the tests hand it where a Part goes, with the part-to-test function replaced.
    """

    def __init__(self, cut: str, below: bool) -> None:
        self.cut = cut
        self.below = below

    def contains(self, path: str) -> bool:
        return (path < self.cut) == self.below


def _apply(target: dataver.Dataset | Writer, op: tuple[str, Any]) -> None:
    kind, arg = op
    if kind == "remove":
        target.remove_files(arg)
    elif kind == "sync":
        target.sync_folder(arg[0], dataset_path=arg[1])
    elif kind == "sync-part":
        target.sync_folder(arg[0], dataset_path=arg[1], part=arg[2])
    elif kind == "add-part":
        target.add_files(arg[0], dataset_path=arg[1], part=arg[2])
    elif kind == "link":
        target.add_external_files(arg[0], dataset_path=arg[1])
    else:
        target.add_files(arg[0], dataset_path=arg[1])


@pytest.mark.parametrize("seed", range(int(os.environ.get("SEEDS", "12"))))
def test_writer_sees_what_one_batch_sees(
    registry: dataver.Registry,
    tmp_path: Path,
    slice_of: Any,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Random calls through a writer with tiny slices give the content the same calls give
    in one single-writer batch (file/folder swaps across slices, removals, re-adds, parts,
    a path both a file and a folder)."""
    slice_of(2)

    def within(part: _Part | None) -> Any:
        return None if part is None else part.contains

    monkeypatch.setattr("dataver.api.writer.within", within)
    monkeypatch.setattr("dataver.api.building._within", within)
    rng = random.Random(seed)
    parent = registry.create("same")
    base = _folder(tmp_path / "base", {"a.t": "0", "x/a.t": "0", "p/q/x/b.t": "0", "z.t": "0"})
    parent.add_files(base)
    parent.add_files(base, dataset_path="p")
    parent.finalize(auto_upload=True)
    ops = _random_ops(tmp_path / "ops", rng, 8)
    single = registry.create("same", parents=[parent.id])
    several = registry.create("same", parents=[parent.id])
    refused: dict[str, str] = {}
    try:
        with single.batch():
            for op in ops:
                _apply(single, op)
    except dataver.ValidationError as exc:
        refused["single"] = str(exc)
    try:
        with several.writer("w") as w:
            for op in ops:
                _apply(w, op)
    except dataver.ValidationError as exc:
        refused["several"] = str(exc)
    # NOTE: with several conflicts, each may name another first: a sync checks a new file
    # whose folder holds paths a later slice may remove once that slice is in.
    assert ("single" in refused) == ("several" in refused), refused
    if refused:
        assert "either a file or a folder" in refused["several"]
        return
    _ascending_and_disjoint(_sets(registry, several, "w"))
    single.finalize(auto_upload=True)
    several.finalize(auto_upload=True)
    assert _content(several) == _content(single)


def test_sync_swaps_file_and_folder_across_slices(
    registry: dataver.Registry, tmp_path: Path, slice_of: Any
) -> None:
    """``x/`` (a folder) becomes ``x`` (a file) and back, one file per slice: the removal
    that makes room comes in a later slice (``x-1`` sorts between ``x`` and ``x/``)."""
    slice_of(1)
    parent = registry.create("swap")
    parent.add_files(_folder(tmp_path / "v1", {"w": "w", "x/a": "1", "x/b": "2", "y": "y"}))
    parent.finalize(auto_upload=True)
    child = registry.create("swap", parents=[parent.id])
    flat = _folder(tmp_path / "v2", {"w": "w", "x": "file", "x-1": "x", "y/c": "3"})
    assert child.sync_folder(flat, writer="s") == (3, 3, 0)
    child.finalize()
    assert sorted(child.list_files()) == ["w", "x", "x-1", "y/c"]


def test_layout_conflict_with_an_earlier_slice_is_refused(
    registry: dataver.Registry, tmp_path: Path, slice_of: Any
) -> None:
    slice_of(2)
    ds = registry.create("layout")
    inside = _folder(tmp_path / "b", {"p/inside": "x"})
    with ds.writer("w") as w:
        w.add_files(_folder(tmp_path / "a", {"p": "file", "q": "1", "r": "2", "s": "3"}))
        assert len(w._runs.runs if w._runs else []) == 2  # NOTE: "p" is stored, read back
        with pytest.raises(dataver.ValidationError, match="either a file or a"):
            w.add_files(inside)
    assert sorted(ds.writers()[0].committed.changes or []) != []
    ds.finalize()
    assert sorted(ds.list_files()) == ["p", "q", "r", "s"]


def test_failed_call_leaves_earlier_calls(
    registry: dataver.Registry, tmp_path: Path, slice_of: Any
) -> None:
    """A call that fails after some of its slices were stored adds nothing; the writer's
    earlier calls stay and commit."""
    slice_of(5)
    outside = _folder(tmp_path / "outside", {"secret": "s"})
    bad = _folder(tmp_path / "bad", {f"f{i:02d}": str(i) for i in range(40)})
    os.symlink(outside / "secret", bad / "zz-link")  # NOTE: reached after 8 slices
    ds = registry.create("rollback")
    with ds.writer("w") as w:
        w.add_files(_folder(tmp_path / "good", {f"g{i}": str(i) for i in range(12)}))
        with pytest.raises(dataver.ValidationError, match="outside"):
            w.add_files(bad)
        w.remove_files("g1*")
    ds.finalize()
    assert sorted(ds.list_files()) == sorted(f"g{i}" for i in range(12) if i != 1 and i < 10)


def test_scan_pieces_list_what_scan_lists(tmp_path: Path) -> None:
    """The pieces, joined, are the listing of scan_folder (or scan), for every piece size:
    names that sort around ``/`` (``a-b``, ``a.b``, ``a/``), links in and out, the policies."""
    rng = random.Random(7)
    names = ["a", "a-b", "a.b", "a b", "a0", "b", "Z", "é", "a_", "a!"]

    def make(folder: Path, depth: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in rng.sample(names, 5):
            (folder / f"{name}.f").write_text(name)
            if rng.random() < 0.3 and not (folder / name).exists():
                (folder / name).write_text("x")
        if depth:
            for name in rng.sample(names, 3):
                if not (folder / name).exists():
                    make(folder / name, depth - 1)

    root, outside = tmp_path / "root", tmp_path / "outside"
    make(root, 3)
    make(outside, 1)
    inner = next(p for p in sorted(root.iterdir()) if p.is_dir())
    os.symlink(next(root.glob("*.f")), root / "link-in")
    os.symlink(inner, root / "folder-link-in")
    os.symlink(outside, root / "folder-link-out")
    os.symlink(next(outside.glob("*.f")), inner / "file-link-out")
    os.symlink(tmp_path / "nothing", root / "dangling")

    def joined(**kwargs: Any) -> Listing | type[Exception]:
        try:
            pieces = list(scan_pieces(root, "pre", **kwargs))
        except dataver.ValidationError:
            return dataver.ValidationError
        columns: list[list[Any]] = [[] for _ in range(6)]
        for piece in pieces:
            for column, values in zip(columns, piece.columns(), strict=True):
                column.extend(values)
        return Listing(*columns)

    def reference(**kwargs: Any) -> Listing | type[Exception]:
        try:
            if kwargs["wildcards"] or not kwargs["recursive"]:
                return Listing.of_rows(scan(root, "pre", **kwargs))
            return scan_folder(root, "pre", recursive=True, symlinks=kwargs["symlinks"])
        except dataver.ValidationError:
            return dataver.ValidationError

    def local(listing: Listing) -> list[str]:
        return [f + n for f, n in zip(listing.folders, listing.names, strict=True)]

    for symlinks in ("refuse", "skip", "follow"):
        for wildcards, recursive in ((None, True), (["*.f"], True), (None, False)):
            kwargs: dict[str, Any] = {
                "wildcards": wildcards,
                "recursive": recursive,
                "symlinks": symlinks,
            }
            want = reference(**kwargs)
            for size in (1, 2, 7, 1000):
                got = joined(files=size, **kwargs)
                if isinstance(want, Listing) and isinstance(got, Listing):
                    assert got.paths == want.paths, (symlinks, wildcards, recursive, size)
                    assert local(got) == local(want)
                    assert (got.sizes, got.mtimes, got.inodes) == (
                        want.sizes,
                        want.mtimes,
                        want.inodes,
                    )
                else:
                    assert got is want, (symlinks, wildcards, recursive, size)
