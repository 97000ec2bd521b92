"""A writer's changes in bounded memory: a buffer, flushed as *runs* of stored change sets.

A writer may add millions of files (issue 21). Its changes go to a buffer; once the buffer
holds :data:`SLICE` changes it is flushed: the content it names is uploaded (the writer's
journal), and its changes are stored as change sets of :data:`CHANGE_SET`, ascending and
disjoint: one *run*. Between flushes only the runs' addresses, path ranges and counts stay
in memory. A later change of a path wins over an earlier one: it is in the same buffer (a
dict) or in a later run.

What the writer sees (:class:`Runs` as a view) is the version's content with the runs and
the buffer on top: a path is looked up in the buffer, then in the runs (latest first, only
the one change set whose range holds it is read), then in the version's content; a range of
paths is a k-way merge of the same layers, where a layer touches the range at all.

At commit (:meth:`Runs.settle`) the runs' change sets become one ascending, disjoint
sequence, as docs/storage-format.md ("Writers") requires: change sets whose ranges overlap
no other are kept as stored; each group of overlapping ones is merged (a streaming k-way
merge, the later run winning on a path, memory: one change set per run) and stored again.
"""

from __future__ import annotations

import bisect
import heapq
import operator
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataver.errors import ValidationError
from dataver.manifest import staged
from dataver.ops.change import first_inside, layout_error
from dataver.paths import check_new_paths
from dataver.workers import each

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.storage.base import Store

Changes = dict[str, "Entry | None"]

SLICE = 65_536
"""Changes a writer keeps in memory before it uploads their content and stores them (and
files it walks, hashes and compares at a time). Measured (docs/benchmarks.md, "A writer of
1,000,000 files"), 1,000,000 files of 64 bytes in 1,000 folders, peak RSS and CPU: 16,384:
88 MiB, 68 s; 65,536: 174 MiB, 47 s; 262,144: 446 MiB, 45 s (the writer before slices:
1,087 MiB, 44 s)."""

CHANGE_SET = 2048
"""Changes per stored change set of a contribution: finalize holds one set per writer."""

_DECODED = 8
"""Decoded change sets kept for look-ups (a set is ~2,048 entries)."""


@dataclass(frozen=True)
class ChangeSet:
    """One stored change set of a run: its address, path range and counts."""

    ref: str
    first: str
    last: str
    files: int
    removed: int
    bytes: int


class Run:
    """The change sets one flush stored: ascending, disjoint path ranges."""

    __slots__ = ("firsts", "sets")

    def __init__(self, sets: list[ChangeSet]) -> None:
        self.sets = sets
        self.firsts = [s.first for s in sets]

    @property
    def first(self) -> str:
        return self.sets[0].first

    @property
    def last(self) -> str:
        return self.sets[-1].last

    def holding(self, path: str) -> ChangeSet | None:
        """The change set whose range holds ``path`` (it may still not change it)."""
        index = bisect.bisect_right(self.firsts, path) - 1
        if index >= 0 and path <= self.sets[index].last:
            return self.sets[index]
        return None

    def overlapping(self, lo: str, hi: str | None) -> list[ChangeSet]:
        """The change sets that may hold paths ``p`` with ``lo <= p < hi`` (None: no end)."""
        if self.last < lo or (hi is not None and self.first >= hi):
            return []
        start = max(bisect.bisect_right(self.firsts, lo) - 1, 0)
        end = len(self.sets) if hi is None else bisect.bisect_left(self.firsts, hi)
        return [s for s in self.sets[start:end] if s.last >= lo]


@dataclass(frozen=True)
class Settled:
    """A writer's contribution as stored change sets: ascending, disjoint."""

    sets: tuple[ChangeSet, ...]

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(s.ref for s in self.sets)

    @property
    def files(self) -> int:
        return sum(s.files for s in self.sets)

    @property
    def removed(self) -> int:
        return sum(s.removed for s in self.sets)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.sets)


class Mark:
    """What :meth:`Runs.mark` saved: the runs then, and the buffer's items (a shallow copy)."""

    __slots__ = ("buffer", "runs")

    def __init__(self, runs: int, buffer: Changes) -> None:
        self.runs = runs
        self.buffer = buffer


class Runs:
    """A writer's changes so far (runs and buffer) over the version's content.

    Args:
        store: The registry store (change sets are written and read there).
        content: The version's content the writer started from.
        upload: Stores the content of pending entries; returns them located, by path.
        size: Changes buffered before a flush (default :data:`SLICE`).
    """

    def __init__(
        self,
        store: Store,
        content: Manifest,
        upload: Callable[[list[Entry]], Mapping[str, Entry]],
        size: int | None = None,
    ) -> None:
        self.store = store
        self.content = content
        self.size = max(1, size if size is not None else SLICE)
        self.buffer: Changes = {}
        self.runs: list[Run] = []
        self._upload = upload
        self._decoded: OrderedDict[str, Changes] = OrderedDict()

    # ------------------------------------------------------------------ writing
    def put(self, changes: Mapping[str, Entry | None]) -> None:
        """Add changes (they win over earlier ones); flush once :attr:`size` are buffered."""
        self.buffer.update(changes)
        if len(self.buffer) >= self.size:
            self.flush()

    def flush(self) -> None:
        """Upload the buffered changes' content, store them as a run, empty the buffer."""
        changes = self.buffer
        if not changes:
            return
        pending = [e for e in changes.values() if e is not None and e.is_pending]
        located = self._upload(pending) if pending else {}
        items = [(p, located.get(p, changes[p])) for p in sorted(changes)]
        self.runs.append(Run(list(_write_sets(self.store, items))))
        self.buffer = {}

    def mark(self) -> Mark:
        """Remember the changes so far, to :meth:`restore` them if a call fails half-way."""
        return Mark(len(self.runs), dict(self.buffer))

    def restore(self, mark: Mark) -> None:
        """Forget every change made since ``mark`` (content uploaded since stays unused)."""
        del self.runs[mark.runs :]
        self.buffer = mark.buffer

    # ------------------------------------------------------------------ the view
    def get(self, path: str) -> Entry | None:
        """The entry at ``path`` as the writer sees it (None: none, or removed)."""
        buffer = self.buffer
        if path in buffer:
            return buffer[path]
        for run in reversed(self.runs):
            found = run.holding(path)
            if found is not None:
                changes = self._read(found.ref)
                if path in changes:
                    return changes[path]
        return self.content.get(path)

    def iter_range(self, lo: str, hi: str | None) -> Iterator[Entry]:
        """The entries the writer sees with ``lo <= path < hi`` (None: no end), in order.

        Only the layers that touch the range are merged: the version's content alone (no
        merge at all) when the writer changed nothing there yet.
        """
        layers: list[Iterator[tuple[str, Entry | None]]] = []
        for run in self.runs:
            sets = run.overlapping(lo, hi)
            if sets:
                layers.append(self._changes_in(sets, lo, hi))
        buffered = sorted(
            (
                item
                for item in self.buffer.items()
                if lo <= item[0] and (hi is None or item[0] < hi)
            ),
            key=_path_of_item,
        )
        if buffered:
            layers.append(iter(buffered))
        base = manifest_range(self.content, lo, hi)
        return _overlay(base, layers) if layers else base

    def _changes_in(
        self, sets: list[ChangeSet], lo: str, hi: str | None
    ) -> Iterator[tuple[str, Entry | None]]:
        for one in sets:
            changes = read_set(self.store, one.ref)
            for path in sorted(changes):
                if lo <= path and (hi is None or path < hi):
                    yield path, changes[path]

    def _read(self, ref: str) -> Changes:
        decoded = self._decoded
        if ref in decoded:
            decoded.move_to_end(ref)
            return decoded[ref]
        changes = read_set(self.store, ref)
        decoded[ref] = changes
        if len(decoded) > _DECODED:
            decoded.popitem(last=False)
        return changes

    # ------------------------------------------------------------------ layout
    def check_layout(self, changes: Changes, new: Iterable[Entry], hi: str | None) -> list[str]:
        """Refuse new paths that would make one path both a file and a folder (``a`` and
        ``a/b``) in what the writer sees with ``changes`` applied; see
        :func:`dataver.ops.change.check_layout`.

        Args:
            changes: The changes about to be :meth:`put` (None removes a path).
            new: Their entries at paths the writer does not see as files.
            hi: Where the range these changes were computed for ends (exclusive), if a
                later piece of the same call may still remove paths from ``hi`` on; None
                when nothing later may.

        Returns:
            New paths with a path inside them at or after ``hi``: to check again with
            :meth:`recheck` once the call's later pieces are in.

        Raises:
            ValidationError: Naming both paths; or a new path holding a name too long.
        """
        added = sorted(e.path for e in new)
        if not added:
            return []
        check_new_paths(added)
        start = added[0]
        runs = [run for run in self.runs if run.last >= start]
        keys = sorted(k for k in self.buffer if k >= start)
        firsts = [shard.first for shard in self.content.shards]
        seen: dict[str, bool] = {}

        def is_file(path: str) -> bool:
            if path in changes:
                return changes[path] is not None
            found = seen.get(path)
            if found is None:
                found = seen[path] = self.get(path) is not None
            return found

        deferred: list[str] = []
        for path in added:
            parts = path.split("/")
            folder = next(
                (f for f in ("/".join(parts[:i]) for i in range(1, len(parts))) if is_file(f)),
                None,
            )
            if folder is not None:
                raise layout_error(path, folder)
            inside = self._first_inside(path, changes, firsts, keys, runs)
            if inside is not None and hi is not None and inside >= hi:
                deferred.append(path)
                continue
            after = bisect.bisect_left(added, path + "/")
            if inside is None and after < len(added) and added[after].startswith(path + "/"):
                inside = added[after]
            if inside is not None:
                raise layout_error(path, inside)
        return deferred

    def recheck(self, deferred: list[str]) -> None:
        """Check again the paths :meth:`check_layout` left for later, once every piece of
        the call is in.

        Raises:
            ValidationError: One of them is still a file with paths inside it.
        """
        for path in deferred:
            if self.get(path) is None:
                continue
            inside = next(iter(self.iter_range(path + "/", path + "0")), None)
            if inside is not None:
                raise layout_error(path, inside.path)

    def _first_inside(
        self,
        folder: str,
        changes: Changes,
        firsts: list[str],
        keys: list[str],
        runs: list[Run],
    ) -> str | None:
        """The first path the writer sees inside ``folder`` that ``changes`` do not remove."""
        lo, hi = folder + "/", folder + "0"  # NOTE: "0" is the character after "/"
        at = bisect.bisect_left(keys, lo)
        layered = (at < len(keys) and keys[at] < hi) or any(r.overlapping(lo, hi) for r in runs)
        if not layered:
            return first_inside(self.content, firsts, folder, changes)
        for entry in self.iter_range(lo, hi):
            if entry.path not in changes or changes[entry.path] is not None:
                return entry.path
        return None

    # ------------------------------------------------------------------ commit
    def settle(self) -> Settled:
        """Flush, then make every run's change sets one ascending, disjoint sequence.

        Change sets that overlap no other are kept; each group of overlapping ones is
        merged, the later run winning on a path, and stored again.
        """
        self.flush()
        ranked = sorted(
            ((one, rank) for rank, run in enumerate(self.runs) for one in run.sets),
            key=_first_of_ranked,
        )
        out: list[ChangeSet] = []
        group: list[tuple[ChangeSet, int]] = []
        end = ""
        for one, rank in ranked:
            if group and one.first > end:
                out.extend(self._merged(group))
                group = []
            if not group or one.last > end:
                end = one.last
            group.append((one, rank))
        if group:
            out.extend(self._merged(group))
        return Settled(tuple(out))

    def _merged(self, group: list[tuple[ChangeSet, int]]) -> Iterator[ChangeSet]:
        """One group of overlapping change sets as ascending, disjoint sets (a lone set as
        it is)."""
        if len(group) == 1:
            yield group[0][0]
            return
        by_rank: dict[int, list[ChangeSet]] = {}
        for one, rank in group:
            by_rank.setdefault(rank, []).append(one)
        streams = [self._ranked(sets, rank) for rank, sets in by_rank.items()]
        chunk: list[tuple[str, Entry | None]] = []
        last: str | None = None
        for path, _, entry in heapq.merge(*streams, key=_order):
            if path == last:
                continue  # NOTE: the first of a path comes from the latest run: it won
            last = path
            chunk.append((path, entry))
            if len(chunk) == CHANGE_SET:
                yield from _write_sets(self.store, chunk)
                chunk = []
        if chunk:
            yield from _write_sets(self.store, chunk)

    def _ranked(self, sets: list[ChangeSet], rank: int) -> Iterator[tuple[str, int, Entry | None]]:
        for one in sets:
            changes = read_set(self.store, one.ref)
            for path in sorted(changes):
                yield path, -rank, changes[path]


def read_set(store: Store, ref: str) -> Changes:
    """A change set this writer stored (see :func:`dataver.manifest.staged.read_changes`)."""
    return staged.read_changes(store, ref)


def manifest_range(manifest: Manifest, lo: str, hi: str | None) -> Iterator[Entry]:
    """The entries of ``manifest`` with ``lo <= path < hi`` (None: no end), in order."""
    if not manifest.shards:
        return
    for _, entries in manifest.iter_shards(lo):
        start = 0
        if entries and entries[0].path < lo:
            start = bisect.bisect_left(entries, lo, key=_path_of)
        end = len(entries)
        if hi is not None and entries and entries[-1].path >= hi:
            end = bisect.bisect_left(entries, hi, key=_path_of)
        yield from entries[start:end]
        if end < len(entries):
            return


def _overlay(
    base: Iterator[Entry], layers: list[Iterator[tuple[str, Entry | None]]]
) -> Iterator[Entry]:
    """``base`` with ``layers`` of changes on top, the last layer winning on a path."""
    streams: list[Iterator[tuple[str, int, Entry | None]]] = [
        ((e.path, 0, e) for e in base),
        *(_tagged(layer, -1 - i) for i, layer in enumerate(layers)),
    ]
    last: str | None = None
    for path, _, entry in heapq.merge(*streams, key=_order):
        if path == last:
            continue  # NOTE: the first of a path comes from the top layer: it won
        last = path
        if entry is not None:
            yield entry


def _tagged(
    layer: Iterator[tuple[str, Entry | None]], tag: int
) -> Iterator[tuple[str, int, Entry | None]]:
    for path, entry in layer:
        yield path, tag, entry


def _write_sets(store: Store, items: list[tuple[str, Entry | None]]) -> Iterator[ChangeSet]:
    """Store sorted changes as change sets of :data:`CHANGE_SET`, ascending and disjoint
    (written in parallel: on S3 each is a round trip)."""
    slices = [items[at : at + CHANGE_SET] for at in range(0, len(items), CHANGE_SET)]
    for sets in each(lambda some: list(_write_set(store, some)), slices, workers=4):
        yield from sets


def _write_set(store: Store, items: list[tuple[str, Entry | None]]) -> Iterator[ChangeSet]:
    ref = staged.write_changes(store, dict(items))
    if ref is not None:
        added = [e for _, e in items if e is not None]
        yield ChangeSet(
            ref,
            items[0][0],
            items[-1][0],
            files=len(added),
            removed=len(items) - len(added),
            bytes=sum(e.size for e in added),
        )
        return
    if len(items) == 1:  # NOTE: write_changes refuses only sets readers could not take
        path = items[0][0]
        raise ValidationError(f"path too long to store: {path[:80]!r}...", path=path)
    half = len(items) // 2
    yield from _write_set(store, items[:half])
    yield from _write_set(store, items[half:])


_path_of = operator.attrgetter("path")
_path_of_item = operator.itemgetter(0)
_order = operator.itemgetter(0, 1)


def _first_of_ranked(item: tuple[ChangeSet, int]) -> str:
    return item[0].first
