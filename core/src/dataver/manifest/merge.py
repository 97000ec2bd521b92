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
    from collections.abc import Iterator, Mapping

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
        if writer.aligned and end > pos and keys[end - 1] <= shard.last:
            block, hits = _replaced(entries, changes)
            if hits == end - pos and None not in map(changes.__getitem__, keys[pos:end]):
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
        block, hits = _replaced(base.load_shard(shard), located)
        if hits != end - pos:
            raise ValueError(f"cannot relocate paths not in the manifest (near {keys[pos]!r})")
        writer.add_block(block)
        pos = end
    if pos != len(keys):
        raise ValueError(f"cannot relocate paths not in the manifest ({keys[pos]!r})")
    return writer.finish()


def _replaced(entries: list[Entry], located: Mapping[str, Entry | None]) -> tuple[list[Entry], int]:
    """``entries`` with those at a path of ``located`` replaced; and how many were.

    A path that ``located`` maps to None counts as a hit but keeps its old entry: callers
    check for removals themselves.
    """
    block: list[Entry] = []
    hits = 0
    for entry in entries:
        if entry.path not in located:
            block.append(entry)
            continue
        new = located[entry.path]
        hits += 1
        if new is None:
            block.append(entry)
            continue
        if new.path != entry.path:
            raise ValueError(f"a relocated entry changed its path: {entry.path!r}")
        block.append(new)
    return block, hits


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
