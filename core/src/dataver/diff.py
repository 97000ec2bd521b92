"""Differences between two manifests: added, removed, modified and renamed paths.

Shards present in both manifests are skipped without being read: identical shards hold
identical entries, so a diff costs in proportion to what changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

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
    common = {s.hash for s in old.shards} & {s.hash for s in new.shards}
    left = _entries(old, common)
    right = _entries(new, common)
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


def _entries(manifest: Manifest, skip: set[str]) -> Iterator[Entry]:
    for shard in manifest.shards:
        if shard.hash not in skip:
            yield from manifest.load_shard(shard)


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
