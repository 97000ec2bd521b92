"""Building new manifests from old ones: applying changes, merging parents."""

from __future__ import annotations

import bisect
import heapq
import operator
from typing import TYPE_CHECKING

from dataver.errors import ValidationError
from dataver.manifest.writer import ManifestWriter
from dataver.paths import LayoutChecker

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.storage.base import Store


def apply_changes(base: Manifest, changes: Mapping[str, Entry | None]) -> str:
    """Write ``base`` with ``changes`` applied (None removes a path); return the new root.

    Shards of ``base`` that no change touches are reused without being read, so the cost is
    proportional to the changes, not to the dataset. A shard whose changes only replace
    entries (same paths, e.g. modified files, or uploaded ones getting their location) keeps
    its cut and is re-encoded as it is, like :func:`relocate` does.
    """
    if not changes and base.ref is not None:
        return base.ref
    keys = sorted(changes)
    writer = ManifestWriter(base.store, base.root.hash_algorithm)
    shards = base.shards
    pos = 0
    for i, shard in enumerate(shards):
        upper = shards[i + 1].first if i + 1 < len(shards) else None
        end = bisect.bisect_left(keys, upper, lo=pos) if upper is not None else len(keys)
        if end == pos and writer.aligned:
            writer.add_shard(shard)
            continue
        entries = base.load_shard(shard)
        block = _replaced(entries, keys[pos:end], changes) if writer.aligned else None
        if block is not None:
            writer.add_block(block)
            pos = end
            continue
        _merge_into(writer, entries, keys[pos:end], changes)
        pos = end
    _merge_into(writer, [], keys[pos:], changes)
    return writer.finish()


def relocate(base: Manifest, located: Mapping[str, Entry]) -> str | None:
    """Write ``base`` with entries replaced by new ones at the same paths; return the root.

    This is how an upload records where pending files went: no path comes or goes, so every
    shard keeps its cut. Shards holding none of the paths are reused unread; the others are
    re-encoded as they are, without merging, cutting or validating paths again.

    Raises:
        ValueError: A path of ``located`` is not in ``base``, or a new entry has another path.
    """
    if not located:
        return base.ref
    keys = sorted(located)
    writer = ManifestWriter(base.store, base.root.hash_algorithm)
    pos = 0
    for shard in base.shards:
        end = bisect.bisect_right(keys, shard.last, lo=pos)
        if end == pos:
            writer.add_shard(shard)
            continue
        block = _replaced(base.load_shard(shard), keys[pos:end], located)
        if block is None:
            raise ValueError(f"cannot relocate paths not in the manifest (near {keys[pos]!r})")
        writer.add_block(block)
        pos = end
    if pos != len(keys):
        raise ValueError(f"cannot relocate paths not in the manifest ({keys[pos]!r})")
    return writer.finish()


def _replaced(
    entries: list[Entry], keys: list[str], located: Mapping[str, Entry | None]
) -> list[Entry] | None:
    """``entries`` with those at ``keys`` (sorted) replaced by their ``located`` entries.

    None if a key is not the path of an entry (an insertion) or ``located`` removes it: the
    shard's paths would change. Each key is found by bisection, so a few changes in a
    4,096-entry shard cost a list copy, not a loop over the shard.

    Raises:
        ValueError: A replacement has another path than the entry it replaces.
    """
    block = entries.copy()
    low = 0
    for key in keys:
        at = bisect.bisect_left(entries, key, lo=low, key=_path)
        new = located[key]
        if at == len(entries) or entries[at].path != key or new is None:
            return None
        if new.path != key:
            raise ValueError(f"a relocated entry changed its path: {key!r}")
        block[at] = new
        low = at + 1
    return block


def _merge_into(
    writer: ManifestWriter,
    entries: list[Entry],
    keys: list[str],
    changes: Mapping[str, Entry | None],
) -> None:
    if not keys:
        writer.extend(entries)
        return
    merged: list[Entry] = []
    i = 0
    for key in keys:
        stop = bisect.bisect_left(entries, key, lo=i, key=_path)
        merged.extend(entries[i:stop])
        i = stop + 1 if stop < len(entries) and entries[stop].path == key else stop
        replacement = changes[key]
        if replacement is not None:
            merged.append(replacement)
    merged.extend(entries[i:])
    writer.extend(merged)


_path = operator.attrgetter("path")


def merge_manifests(store: Store, manifests: list[Manifest], algorithm: str) -> str | None:
    """Merge manifests in order, the later one winning on the same path; return the root.

    One manifest is returned as is; none gives None (the empty manifest).

    Raises:
        ValidationError: A path is a file in one manifest and a folder in another.
    """
    if not manifests:
        return None
    if len(manifests) == 1:
        return manifests[0].ref
    writer = ManifestWriter(store, algorithm)
    streams = [_ranked(m, rank) for rank, m in enumerate(manifests)]
    layout = LayoutChecker()
    last: str | None = None
    for _, _, entry in heapq.merge(*streams):
        if entry.path != last:
            folder = layout.file_above(entry.path)
            if folder is not None:
                raise ValidationError(
                    f"the parents cannot be merged: {folder!r} is a file in one and a folder "
                    f"(holding {entry.path!r}) in another",
                    path=entry.path,
                    conflict=folder,
                )
            writer.add(entry)
            last = entry.path
    return writer.finish()


def _ranked(manifest: Manifest, rank: int) -> Iterator[tuple[str, int, Entry]]:
    # NOTE: a negative rank sorts the later parent first on equal paths, so it wins.
    for entry in manifest:
        yield entry.path, -rank, entry


def apply_sorted(base: Manifest, changes: Iterable[list[tuple[str, Entry | None]]]) -> str | None:
    """Like :func:`apply_changes`, for changes streamed in runs of ascending path order.

    At most a few thousand changes and one shard are held at a time, so millions of changes
    (every writer's work, gathered by finalize) merge in bounded memory; shards of ``base``
    that no change touches are reused without being read.
    """
    stream = _Peek(iter(changes))
    if stream.done and base.ref is not None:
        return base.ref
    writer = ManifestWriter(base.store, base.root.hash_algorithm)
    shards = base.shards
    for i, shard in enumerate(shards):
        upper = shards[i + 1].first if i + 1 < len(shards) else None
        batch = stream.take_below(upper, limit=_BATCH)
        if not batch and writer.aligned:
            writer.add_shard(shard)
            continue
        entries = base.load_shard(shard)
        if len(batch) < _BATCH and (upper is not None or stream.done):
            _merge_batch(writer, entries, batch)
        else:
            _merge_stream(writer, entries, batch, stream, upper)
    if not shards:
        _merge_stream(writer, [], [], stream, None)
    return writer.finish()


_BATCH = 4096
"""Changes taken from the stream at a time (about a shard's worth)."""


def _merge_batch(
    writer: ManifestWriter, entries: list[Entry], batch: list[tuple[str, Entry | None]]
) -> None:
    changes = dict(batch)
    keys = [path for path, _ in batch]
    block = _replaced(entries, keys, changes) if writer.aligned else None
    if block is not None:
        writer.add_block(block)
    else:
        _merge_into(writer, entries, keys, changes)


def _merge_stream(
    writer: ManifestWriter,
    entries: list[Entry],
    first: list[tuple[str, Entry | None]],
    stream: _Peek,
    upper: str | None,
) -> None:
    """Merge one shard's entries with every change below ``upper``, written as they come."""
    out: list[Entry] = []
    i = 0
    batch = first or stream.take_below(upper, limit=_BATCH)
    while batch and not entries:  # NOTE: nothing to merge with: new paths, in bulk
        writer.extend([new for _, new in batch if new is not None])
        batch = stream.take_below(upper, limit=_BATCH)
    while batch:
        for path, new in batch:
            stop = bisect.bisect_left(entries, path, lo=i, key=_path)
            out.extend(entries[i:stop])
            i = stop + 1 if stop < len(entries) and entries[stop].path == path else stop
            if new is not None:
                out.append(new)
        writer.extend(out)
        out = []
        batch = stream.take_below(upper, limit=_BATCH)
    writer.extend(entries[i:])


class _Peek:
    """Runs of ``(path, change)`` in ascending order, taken in slices below a bound."""

    def __init__(self, runs: Iterator[list[tuple[str, Entry | None]]]) -> None:
        self._runs = runs
        self._run: list[tuple[str, Entry | None]] = []
        self._at = 0
        self._fill()

    @property
    def done(self) -> bool:
        return self._at >= len(self._run)

    def take_below(self, upper: str | None, limit: int) -> list[tuple[str, Entry | None]]:
        out: list[tuple[str, Entry | None]] = []
        while not self.done and len(out) < limit:
            run, at = self._run, self._at
            end = min(len(run), at + limit - len(out))
            if upper is not None and run[end - 1][0] >= upper:
                end = bisect.bisect_left(run, upper, lo=at, hi=end, key=_first)
            out.extend(run[at:end])
            self._at = end
            if end < len(run) and (upper is None or run[end][0] < upper):
                continue  # NOTE: stopped by the limit
            if end < len(run):
                break  # NOTE: the rest of the run is at or above the bound
            self._fill()
        return out

    def _fill(self) -> None:
        if self._at < len(self._run):
            return
        self._run, self._at = [], 0
        for run in self._runs:
            if run:
                self._run = run
                return


def _first(change: tuple[str, Entry | None]) -> str:
    return change[0]
