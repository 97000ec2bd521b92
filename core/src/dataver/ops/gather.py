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

import bisect
import heapq
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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
    # NOTE: each writer's next change set is read while the current one is merged: on S3
    # the reads overlap across writers instead of each waiting its turn.
    with ThreadPoolExecutor(_READERS, thread_name_prefix="dataver-gather") as pool:
        return apply_sorted(base, _resolve(base.store, gathered, on_conflict, pool))


_READERS = 16


def _resolve(
    store: Store, gathered: Gathered, on_conflict: OnConflict, pool: ThreadPoolExecutor
) -> Iterator[list[tuple[str, Entry | None]]]:
    """Runs of resolved changes in ascending path order.

    A run of one writer's changes that sort before every other writer's next change is
    taken whole (a slice): writers usually own disjoint ranges, so the per-path work is
    left to the few paths where writers meet.
    """
    cursors = [_Cursor(store, c, pool) for c in gathered.contributions]
    heap = [(c.head, rank) for rank, c in enumerate(cursors) if c.head is not None]
    heapq.heapify(heap)
    layout = LayoutChecker()
    clashes = _Clashes(gathered.names)
    while heap:
        path, rank = heapq.heappop(heap)
        if heap and heap[0][0] == path:
            ranks = [rank]
            while heap and heap[0][0] == path:
                ranks.append(heapq.heappop(heap)[1])
            one = _one_path(path, sorted(ranks), cursors, clashes, on_conflict)
            run = [one] if one is not None else []
            for r in ranks:
                _push(heap, cursors[r], r)
        else:
            run = cursors[rank].take_below(heap[0][0] if heap else None)
            _push(heap, cursors[rank], rank)
        _check_layout(layout, run, gathered.names[rank])
        if run:
            yield run
    clashes.raise_if_any(on_conflict)


def _push(heap: list[tuple[str, int]], cursor: _Cursor, rank: int) -> None:
    if cursor.head is not None:
        heapq.heappush(heap, (cursor.head, rank))


def _one_path(
    path: str,
    ranks: list[int],
    cursors: list[_Cursor],
    clashes: _Clashes,
    on_conflict: OnConflict,
) -> tuple[str, Entry | None] | None:
    """The change that stands for a path several writers changed (None: none stands)."""
    changes = [(r, cursors[r].pop()) for r in ranks]
    adds = [(r, e) for r, e in changes if e is not None]
    if not adds:
        return path, None
    if len({e.content_key() for _, e in adds}) > 1:
        clashes.add(path, [r for r, _ in adds])
        return None if on_conflict == "error" else (path, adds[-1][1])
    return path, adds[0][1]


class _Cursor:
    """One writer's changes, a change set at a time (the next one read ahead)."""

    def __init__(self, store: Store, contribution: Contribution, pool: ThreadPoolExecutor) -> None:
        self._store = store
        self._refs = list(contribution.changes)
        self._pool = pool
        self._at = 0
        self._ahead = self._read(0)
        self._paths: list[str] = []
        self._changes: list[Entry | None] = []
        self._pos = 0
        self._last = ""
        self._load()

    @property
    def head(self) -> str | None:
        return self._paths[self._pos] if self._pos < len(self._paths) else None

    def pop(self) -> Entry | None:
        change = self._changes[self._pos]
        self._advance(self._pos + 1)
        return change

    def take_below(self, bound: str | None) -> list[tuple[str, Entry | None]]:
        """Every change of the current set below ``bound`` (at least the head)."""
        start = self._pos
        end = (
            len(self._paths)
            if bound is None
            else bisect.bisect_left(self._paths, bound, lo=start + 1)
        )
        run = list(zip(self._paths[start:end], self._changes[start:end], strict=True))
        self._advance(end)
        return run

    def _advance(self, pos: int) -> None:
        self._pos = pos
        if pos >= len(self._paths):
            self._load()

    def _read(self, at: int) -> Future[dict[str, Entry | None]] | None:
        if at >= len(self._refs):
            return None
        return self._pool.submit(read_changes, self._store, self._refs[at])

    def _load(self) -> None:
        self._paths, self._changes, self._pos = [], [], 0
        if self._ahead is None:
            return
        ref = self._refs[self._at]
        changes = self._ahead.result()
        self._at += 1
        self._ahead = self._read(self._at)
        self._paths = sorted(changes)
        self._changes = [changes[p] for p in self._paths]
        if self._paths and self._paths[0] <= self._last:
            raise FormatError(
                f"change set {ref} of a writer is out of path order at {self._paths[0]!r}",
                ref=ref,
            )
        if self._paths:
            self._last = self._paths[-1]
        else:
            self._load()


class _Clashes:
    """Paths writers gave different content: the first few named, all counted."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self.shown: list[tuple[str, tuple[str, ...]]] = []
        self.count = 0

    def add(self, path: str, ranks: list[int]) -> None:
        self.count += 1
        if len(self.shown) < _SHOWN:
            self.shown.append((path, tuple(self._names[r] for r in ranks)))

    def raise_if_any(self, on_conflict: OnConflict) -> None:
        if self.count and on_conflict == "error":
            raise _conflict(self.shown, self.count)


def _check_layout(layout: LayoutChecker, run: list[tuple[str, Entry | None]], writer: str) -> None:
    """Refuse a path that is a file for one writer and a folder for another.

    NOTE: each writer checked its own paths against the version; only paths where two
    writers meet can clash, but telling which those are costs as much as this pass.
    """
    file_above = layout.file_above
    for path, entry in run:
        if entry is None:
            continue
        folder = file_above(path)
        if folder is not None:
            raise ValidationError(
                f"writers cannot both have {folder!r} as a file and {path!r} inside it "
                f"(writer {writer[:80]!r} gave one of them)",
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


def _by_name(record: WriterRecord) -> str:
    return record.name
