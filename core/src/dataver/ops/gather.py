"""Finalize's side of many writers: wait for those at work, set aside the dead, merge the rest.

Every writer's contribution is a list of change sets in ascending path order. Finalize
streams them all at once (a k-way merge), decides each path once, and applies the result to
the version's manifest shard by shard (:func:`dataver.manifest.merge.apply_sorted`): memory
follows the number of writers, not the number of files.

The rule for a path that several writers changed (docs/scale.md, "Conflicts"):

- the same content from each (or a removal from each): no conflict;
- different content: a conflict. By default finalize refuses, naming the paths and the
  writers; ``on_conflict="writer-order"`` keeps the content of the writer whose name sorts
  last instead, deterministically;
- a removal from one and content from another: the content stays. A removal says "this
  writer does not supply the path"; content is the stronger, positive statement.
"""

from __future__ import annotations

import heapq
import operator
import time
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Literal, get_args

from dataver.errors import ConflictError, FormatError, ValidationError, WritersActiveError
from dataver.manifest.merge import apply_sorted
from dataver.manifest.staged import read_changes
from dataver.ops.contribute import is_live, list_writers
from dataver.paths import LayoutChecker
from dataver.versions.records import utcnow
from dataver.versions.wellformed import is_digest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.storage.base import Store
    from dataver.versions.records import Contribution, WriterRecord

OnConflict = Literal["error", "writer-order"]
ON_CONFLICT: tuple[str, ...] = get_args(OnConflict)

_POLL = 0.5
_SHOWN = 10
"""Conflicting paths named in the error message (all are counted)."""


@dataclass(frozen=True)
class Gathered:
    """The committed contributions of a version's writers, ranked by writer name."""

    names: tuple[str, ...]
    contributions: tuple[Contribution, ...]
    set_aside: tuple[str, ...] = ()
    """Writers whose attempt had expired (killed?): their last commit, if any, counts."""

    def __bool__(self) -> bool:
        return bool(self.contributions)


def check_on_conflict(value: object) -> OnConflict:
    """``value`` if it is a known conflict policy, else a ValidationError naming them."""
    if value not in ON_CONFLICT:
        raise ValidationError(
            f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {value!r}",
            on_conflict=value,
        )
    return value  # type: ignore[return-value]


def gather(store: Store, version_id: str, *, wait: float) -> Gathered:
    """The writers' committed work, once no attempt is at work.

    Attempts whose lease expired are set aside (their record says so, and a late commit of
    theirs fails): their stored content is reclaimed by gc once the version is ended.

    Args:
        store: The registry store.
        version_id: The version (already marked closing: no attempt starts any more).
        wait: Seconds to wait for attempts at work to commit or expire (0: do not wait).

    Raises:
        WritersActiveError: Attempts are still at work after ``wait`` seconds (named).
        FormatError: A writer record is malformed.
    """
    deadline = time.monotonic() + wait
    while True:
        records = [(r, t, k) for r, t, k in list_writers(store, version_id)]
        live = [r for r, _, _ in records if is_live(r)]
        if live:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _busy(version_id, live, wait)
            time.sleep(min(_POLL, left))
            continue
        set_aside = _set_aside(store, [(r, t, k) for r, t, k in records if r.attempt])
        if set_aside is None:
            continue  # NOTE: a record changed under us: look again
        done = sorted((r for r, _, _ in records if r.committed), key=_by_name)
        for record in done:
            _check_refs(record)
        return Gathered(
            tuple(r.name for r in done),
            tuple(r.committed for r in done if r.committed),
            tuple(set_aside),
        )


def merge(base: Manifest, gathered: Gathered, on_conflict: OnConflict) -> str | None:
    """``base`` with every contribution applied; return the new manifest address.

    Raises:
        ConflictError: Writers gave paths different content (``on_conflict="error"``):
            ``paths`` and ``writers`` name the first ones, ``count`` counts them all.
        ValidationError: A path is a file for one writer and a folder for another.
    """
    return apply_sorted(base, _resolve(base.store, gathered, on_conflict))


def _resolve(
    store: Store, gathered: Gathered, on_conflict: OnConflict
) -> Iterator[tuple[str, Entry | None]]:
    streams = [_stream(store, c, rank) for rank, c in enumerate(gathered.contributions)]
    layout = LayoutChecker()
    conflicts: list[tuple[str, tuple[str, ...]]] = []
    count = 0
    for path, group in groupby(heapq.merge(*streams), key=_first):
        changes = [(rank, entry) for _, rank, entry in group]
        entry, clash = _choose(changes)
        if clash:
            count += 1
            if len(conflicts) < _SHOWN:
                conflicts.append((path, tuple(gathered.names[r] for r in clash)))
            if on_conflict == "error":
                continue
        if entry is not None:
            _check_layout(layout, path, gathered, changes)
        yield path, entry
    if count and on_conflict == "error":
        raise _conflict(conflicts, count)


def _choose(changes: list[tuple[int, Entry | None]]) -> tuple[Entry | None, list[int]]:
    """The change that stands for a path, and the ranks of writers that disagree on it."""
    adds = [(rank, e) for rank, e in changes if e is not None]
    if not adds:
        return None, []
    contents = {e.content_key() for _, e in adds}
    if len(contents) > 1:
        return adds[-1][1], [rank for rank, _ in adds]
    return adds[0][1], []


def _stream(
    store: Store, contribution: Contribution, rank: int
) -> Iterator[tuple[str, int, Entry | None]]:
    last = ""
    for ref in contribution.changes:
        changes = read_changes(store, ref)
        for path in sorted(changes):
            if path <= last:
                raise FormatError(
                    f"change set {ref} of a writer is out of path order at {path!r}", ref=ref
                )
            last = path
            yield path, rank, changes[path]


def _check_layout(
    layout: LayoutChecker, path: str, gathered: Gathered, changes: list[tuple[int, Entry | None]]
) -> None:
    folder = layout.file_above(path)
    if folder is not None:
        raise ValidationError(
            f"writers cannot both have {folder!r} as a file and {path!r} inside it "
            f"(writer {gathered.names[changes[0][0]]!r} gave {path!r})",
            path=path,
            conflict=folder,
        )


def _set_aside(store: Store, expired: list[tuple[WriterRecord, str, str]]) -> list[str] | None:
    """End each expired attempt (its late commit then fails); None if one changed meanwhile."""
    names = []
    for record, token, key in expired:
        fenced = record.model_copy(update={"attempt": None, "lease": None, "fenced_at": utcnow()})
        try:
            store.replace(key, fenced.to_bytes(), token)
        except ConflictError:
            return None
        names.append(record.name)
    return names


def _check_refs(record: WriterRecord) -> None:
    committed = record.committed
    if committed is not None and not all(map(is_digest, committed.changes)):
        raise FormatError(
            f"writer {record.name[:80]!r} of version {record.version_id} names change sets "
            "that are not addresses; 'dataver fsck' lists it",
            version_id=record.version_id,
            writer=record.name[:80],
        )


def _busy(version_id: str, live: list[WriterRecord], wait: float) -> WritersActiveError:
    names = sorted(r.name for r in live)
    shown = ", ".join(repr(n[:80]) for n in names[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    waited = f" after waiting {wait:g} s" if wait > 0 else ""
    return WritersActiveError(
        f"version {version_id} has {len(names)} writer(s) still at work{waited}: {shown}{more}; "
        "finalize once they committed, or pass wait_for_writers=SECONDS to wait for them "
        "(a killed writer's lease expires after DATAVER_LEASE_SECONDS)",
        version_id=version_id,
        writers=names,
    )


def _conflict(conflicts: list[tuple[str, tuple[str, ...]]], count: int) -> ConflictError:
    shown = "; ".join(
        f"{path!r} from writers {', '.join(repr(w[:80]) for w in writers)}"
        for path, writers in conflicts
    )
    more = f" (and {count - len(conflicts)} more)" if count > len(conflicts) else ""
    return ConflictError(
        f"{count} path(s) were given different content by different writers: {shown}{more}; "
        "nothing was finalized. Fix the writers, or pass on_conflict='writer-order' to keep "
        "the content of the writer whose name sorts last",
        paths=[p for p, _ in conflicts],
        writers=sorted({w for _, ws in conflicts for w in ws}),
        count=count,
    )


_first = operator.itemgetter(0)


def _by_name(record: WriterRecord) -> str:
    return record.name
