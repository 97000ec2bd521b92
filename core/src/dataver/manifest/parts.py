"""Parts of a version: ``n`` workers each read a disjoint, deterministic share of its files.

``get_local_copy(part=k, num_parts=n)`` (ClearML's ``part`` / ``num_parts``) materialises only
part ``k``: the manifest's entries are in path order, and part ``k`` is the ``k``-th of ``n``
contiguous runs of them, balanced by count (the first ``total % n`` parts hold one entry
more, as ClearML deals out its chunks). The parts of one version are disjoint, together they
are the whole version, and every worker computes the same split without talking to the
others: a Final manifest never changes.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, NamedTuple

from dataver.errors import ValidationError
from dataver.paths import any_match

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.paths import PathMatcher


class Part(NamedTuple):
    """Part ``part`` (from 0) of ``num_parts`` shares of a version's files."""

    part: int
    num_parts: int

    def bounds(self, total: int) -> tuple[int, int]:
        """``(start, stop)``: the positions of this part's entries among ``total`` in order."""
        size, extra = divmod(total, self.num_parts)
        start = self.part * size + min(self.part, extra)
        return start, start + size + (1 if self.part < extra else 0)


def check_part(part: int | None, num_parts: int | None) -> Part | None:
    """Validate ``part`` / ``num_parts`` as ClearML takes them: ``0 <= part < num_parts``.

    Returns:
        The :class:`Part`, or None when neither is given (the whole version).

    Raises:
        ValidationError: Only one of them is given, one is not an integer, ``num_parts < 1``
            or ``part`` is outside ``0 .. num_parts - 1``.
    """
    if part is None and num_parts is None:
        return None
    if part is None or num_parts is None:
        raise ValidationError(
            "part and num_parts go together: pass both (part k of num_parts n, k from 0)",
            part=part,
            num_parts=num_parts,
        )
    for name, value in (("part", part), ("num_parts", num_parts)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(f"{name} must be an integer, got {value!r}", **{name: value})
    if num_parts < 1:
        raise ValidationError(f"num_parts must be at least 1, got {num_parts}", num_parts=num_parts)
    if not 0 <= part < num_parts:
        raise ValidationError(
            f"part must be between 0 and num_parts - 1 = {num_parts - 1}, got {part}",
            part=part,
            num_parts=num_parts,
        )
    return Part(part, num_parts)


def select(manifest: Manifest, matchers: list[PathMatcher], part: Part | None) -> Iterator[Entry]:
    """The entries ``matchers`` select (all when empty) and, of those, ``part``'s share.

    Without globs, the shards before the part are skipped unread (their counts are in the
    root), so each of ``n`` workers decodes about ``1/n`` of the manifest. With globs, the
    selected entries are counted first (one pass), then split.
    """
    if not matchers and part is None:
        yield from manifest
        return
    if part is None:
        yield from (e for e in manifest if any_match(matchers, e.path))
        return
    if matchers:
        total = sum(1 for e in manifest if any_match(matchers, e.path))
        start, stop = part.bounds(total)
        chosen = (e for e in manifest if any_match(matchers, e.path))
        yield from itertools.islice(chosen, start, stop)
        return
    start, stop = part.bounds(sum(shard.count for shard in manifest.shards))
    seen = 0
    for shard in manifest.shards:
        if seen >= stop:
            return
        if seen + shard.count > start:
            entries = manifest.load_shard(shard)
            yield from entries[max(start - seen, 0) : stop - seen]
        seen += shard.count
