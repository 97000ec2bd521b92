"""Differences between two manifests: added, removed, modified and renamed paths.

Shards present in both manifests are skipped without being read: identical shards hold
identical entries, so a diff costs in proportion to what changed.
"""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.manifest.codec import ShardRef
    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest


@dataclass(frozen=True)
class Diff:
    """What changed from a baseline to a version.

    A path that disappeared while a new path appeared with the same bytes is a rename: it
    is listed in :attr:`renamed` as ``(old, new)`` and not in :attr:`added`/:attr:`removed`.

    Attributes:
        added: Paths only in the version.
        removed: Paths only in the baseline.
        modified: Paths in both, with other content.
        renamed: ``(old, new)`` pairs with the same content.
        new_entries: Entries of the version whose content is new to it (added or modified).
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    new_entries: tuple[Entry, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.modified or self.renamed)

    def as_dict(self) -> dict[str, list[str] | list[list[str]]]:
        """JSON-friendly form."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "modified": list(self.modified),
            "renamed": [list(pair) for pair in self.renamed],
        }


def diff_manifests(old: Manifest, new: Manifest) -> Diff:
    """Return the :class:`Diff` from ``old`` to ``new``."""
    added: list[Entry] = []
    removed: list[Entry] = []
    modified: list[Entry] = []
    for before, after in _pairs(old, new):
        if before is None and after is not None:
            added.append(after)
        elif after is None and before is not None:
            removed.append(before)
        elif before is not None and after is not None and not before.same_content(after):
            modified.append(after)
    renamed, added, removed = _renames(added, removed)
    return Diff(
        added=tuple(e.path for e in added),
        removed=tuple(e.path for e in removed),
        modified=tuple(e.path for e in modified),
        renamed=tuple(renamed),
        new_entries=tuple(sorted(added + modified, key=lambda e: e.path)),
    )


def _pairs(old: Manifest, new: Manifest) -> Iterator[tuple[Entry | None, Entry | None]]:
    """Pair entries by path; every pair that may differ is yielded (identical ones may not be).

    Shards are walked in step. Two shards with the same address are skipped unread. Two that
    cover the same range with the same count (the common case: content edited in place keeps
    the cuts) are compared entry by entry in one pass. Everything else is merged by path.
    """
    left, right = old.shards, new.shards
    i = j = 0
    pending: tuple[list[ShardRef], list[ShardRef]] = ([], [])
    while i < len(left) or j < len(right):
        a = left[i] if i < len(left) else None
        b = right[j] if j < len(right) else None
        if (
            a is not None
            and b is not None
            and (a.first, a.last, a.count) == (b.first, b.last, b.count)
        ):
            yield from _merge(old, pending[0], new, pending[1])
            pending = ([], [])
            if a.hash != b.hash:
                yield from _in_step(
                    old.load_shard(a, keep=not old.streams), new.load_shard(b, keep=not new.streams)
                )
            i, j = i + 1, j + 1
        elif b is None or (a is not None and a.last <= b.last):
            pending[0].append(left[i])
            i += 1
        else:
            pending[1].append(right[j])
            j += 1
    yield from _merge(old, pending[0], new, pending[1])


def _in_step(
    before: list[Entry], after: list[Entry]
) -> Iterator[tuple[Entry | None, Entry | None]]:
    """Pairs of two shards holding the same paths; any other pair of shards is merged."""
    if list(map(_path, before)) != list(map(_path, after)):
        yield from _merged(iter(before), iter(after))
        return
    # NOTE: (size, hash, url) compared in C (map, compress): no Python step per entry.
    differs = map(operator.ne, map(_content, before), map(_content, after))
    yield from itertools.compress(zip(before, after, strict=True), differs)


def _merge(
    old: Manifest, left: list[ShardRef], new: Manifest, right: list[ShardRef]
) -> Iterator[tuple[Entry | None, Entry | None]]:
    if not left and not right:
        return
    common = {s.hash for s in left} & {s.hash for s in right}
    yield from _merged(_entries(old, left, common), _entries(new, right, common))


def _merged(
    left: Iterator[Entry], right: Iterator[Entry]
) -> Iterator[tuple[Entry | None, Entry | None]]:
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.path < b.path):
            yield a, None
            a = next(left, None)
        elif a is None or b.path < a.path:
            yield None, b
            b = next(right, None)
        else:
            yield a, b
            a, b = next(left, None), next(right, None)


def _entries(manifest: Manifest, shards: list[ShardRef], skip: set[str]) -> Iterator[Entry]:
    for shard in shards:
        if shard.hash not in skip:
            yield from manifest.load_shard(shard, keep=not manifest.streams)


_path = operator.attrgetter("path")
_content = operator.itemgetter(1, 2, 5)  # NOTE: size, hash, url (see Entry.same_content)


def _renames(
    added: list[Entry], removed: list[Entry]
) -> tuple[list[tuple[str, str]], list[Entry], list[Entry]]:
    gone: dict[tuple[str | None, int, str | None], list[Entry]] = defaultdict(list)
    for entry in removed:
        if entry.hash is not None:
            gone[entry.content_key()].append(entry)
    pairs: list[tuple[str, str]] = []
    kept: list[Entry] = []
    matched: set[str] = set()
    for entry in added:
        candidates = gone.get(entry.content_key())
        if candidates:
            old = candidates.pop(0)
            pairs.append((old.path, entry.path))
            matched.add(old.path)
        else:
            kept.append(entry)
    return pairs, kept, [e for e in removed if e.path not in matched]
