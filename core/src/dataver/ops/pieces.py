"""A writer's add, sync and remove, a bounded piece at a time (issue 21).

The single-writer operations (:mod:`dataver.ops.change`) compare a whole folder with the
version at once. A writer may take millions of files, so here a folder is walked in pieces
of :attr:`Runs.size <dataver.ops.runs.Runs>` files (:func:`dataver.scan.scan_pieces`), and
each piece is compared with what the writer sees in its path range (the version's content,
its earlier changes on top), hashed, checked and handed to :class:`~dataver.ops.runs.Runs`,
which uploads and stores the changes once it holds enough. The results are the same as the
single-writer operations', with two differences a caller may see: links that lead outside
the folder, unsafe names and unreadable files are reported when the walk reaches them (the
writer has committed nothing then), and ``sync_folder`` takes no no-change fast path.

Ranges: piece ``k`` holds the files from just after piece ``k-1``'s last path to its own
last path. In ``sync_folder``, every path of the version in that range that the piece does
not hold is missing; after the last piece, the rest of the folder is.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dataver.errors import NotFoundError
from dataver.ops.change import (
    AFTER,
    PieceRows,
    SyncCounts,
    external_links,
    hash_workers,
    keep_within,
)
from dataver.paths import PathMatcher, check_new_paths, normalize_prefix
from dataver.policies import check_symlinks
from dataver.scan import Listing, compare, scan, scan_pieces

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.backend import Backend
    from dataver.manifest.entry import Entry
    from dataver.ops.change import Within
    from dataver.ops.runs import Runs
    from dataver.policies import Symlinks
    from dataver.scan import Compared


def add_files(
    backend: Backend,
    runs: Runs,
    path: str | os.PathLike[str],
    *,
    dataset_path: str,
    wildcard: str | list[str] | None,
    recursive: bool,
    symlinks: Symlinks = "refuse",
    within: Within | None = None,
) -> int:
    """Add a file or a folder's files to the writer's changes; return how many it adds or
    changes (see :func:`dataver.ops.change.add_files`)."""
    policy = check_symlinks(symlinks)
    prefix = normalize_prefix(dataset_path)
    check_new_paths([prefix])  # NOTE: early: before a single file is read
    wildcards = [wildcard] if isinstance(wildcard, str) else list(wildcard or [])
    algorithm = runs.content.root.hash_algorithm
    cache = backend.stat_cache
    if not os.path.isdir(path):
        files = scan(path, prefix, wildcards=wildcards, recursive=recursive, symlinks=policy)
        if within is not None:
            files = keep_within(files, prefix, within)
        found = compare(
            files, runs.get, cache, algorithm=algorithm, known=None, workers=hash_workers()
        )
        return _take(runs, found, [], None)
    count = 0
    rows = PieceRows(cache, algorithm)
    for piece in _pieces(path, prefix, wildcards, recursive, policy, within, runs.size):
        hi = piece.paths[-1] + AFTER
        found = compare(
            piece,
            runs.iter_range(piece.paths[0], hi),
            cache,
            algorithm=algorithm,
            known=rows.of(piece),
            workers=hash_workers(),
        )
        count += _take(runs, found, [], None)
    return count


def sync_folder(
    backend: Backend,
    runs: Runs,
    local_path: str | os.PathLike[str],
    *,
    dataset_path: str,
    symlinks: Symlinks = "refuse",
    within: Within | None = None,
) -> SyncCounts:
    """Make ``dataset_path`` mirror a local folder in the writer's changes (with ``within``,
    only that part of it); see :func:`dataver.ops.change.sync_folder`."""
    if not os.path.isdir(local_path):
        raise NotFoundError(f"no such folder: {local_path}", path=str(local_path))
    policy = check_symlinks(symlinks)
    prefix = normalize_prefix(dataset_path)
    check_new_paths([prefix])  # NOTE: early: before a single file is read
    algorithm = runs.content.root.hash_algorithm
    cache = backend.stat_cache
    skip = len(prefix) + 1 if prefix else 0
    lo, end = (prefix + "/", prefix + "0") if prefix else ("", None)
    gone: list[str] = []
    removed = added = modified = 0
    deferred: list[str] = []
    rows = PieceRows(cache, algorithm)

    def missing(entry: Entry) -> None:
        nonlocal removed
        if entry.is_link or (within is not None and not within(entry.path[skip:])):
            return
        gone.append(entry.path)
        if len(gone) >= runs.size:  # NOTE: a folder emptied of millions of files
            removed += len(gone)
            runs.put(dict.fromkeys(gone))
            gone.clear()

    for piece in _pieces(local_path, prefix, None, True, policy, within, runs.size):
        hi = piece.paths[-1] + AFTER
        found = compare(
            piece,
            runs.iter_range(lo, hi),
            cache,
            algorithm=algorithm,
            known=rows.of(piece),
            workers=hash_workers(),
            on_missing=missing,
        )
        removed += len(gone)
        added += len(found.added)
        modified += len(found.modified)
        _take(runs, found, gone, hi, deferred)
        gone.clear()
        lo = hi
    for entry in runs.iter_range(lo, end):
        missing(entry)
    removed += len(gone)
    runs.put(dict.fromkeys(gone))
    runs.recheck(deferred)
    return SyncCounts(removed, added, modified)


def remove_files(runs: Runs, pattern: str, *, recursive: bool) -> int:
    """Remove every path the writer sees that matches ``pattern``; return how many."""
    matcher = PathMatcher(pattern, recursive=recursive)
    count = 0
    chunk: list[str] = []
    for entry in runs.iter_range("", None):
        if matcher.matches(entry.path):
            chunk.append(entry.path)
            if len(chunk) >= runs.size:
                count += len(chunk)
                runs.put(dict.fromkeys(chunk))
                chunk = []
    runs.put(dict.fromkeys(chunk))
    return count + len(chunk)


def add_external_files(
    runs: Runs,
    url: str,
    *,
    dataset_path: str,
    wildcard: str | list[str] | None,
    recursive: bool,
    within: Within | None = None,
) -> int:
    """Add links to files at ``url`` to the writer's changes; return how many it adds or
    changes (see :func:`dataver.ops.change.add_external_files`)."""
    links = external_links(
        url,
        dataset_path=dataset_path,
        wildcard=wildcard,
        recursive=recursive,
        within=within,
        algorithm=runs.content.root.hash_algorithm,
    )
    count = 0
    changes: dict[str, Entry | None] = {}
    new: list[Entry] = []
    for entry in links:
        old = runs.get(entry.path)
        if old is None or not old.same_content(entry):
            changes[entry.path] = entry
            if old is None:
                new.append(entry)
        if len(changes) >= runs.size:
            count += len(changes)
            runs.check_layout(changes, new, None)
            runs.put(changes)
            changes, new = {}, []
    runs.check_layout(changes, new, None)
    runs.put(changes)
    return count + len(changes)


def _pieces(
    path: str | os.PathLike[str],
    prefix: str,
    wildcards: list[str] | None,
    recursive: bool,
    symlinks: Symlinks,
    within: Within | None,
    size: int,
) -> Iterator[Listing]:
    """The folder's files in pieces (only those ``within`` accepts), none empty."""
    skip = len(prefix) + 1 if prefix else 0
    for listing in scan_pieces(
        path, prefix, wildcards=wildcards, recursive=recursive, symlinks=symlinks, files=size
    ):
        piece = listing if within is None else listing.where(lambda p: within(p[skip:]))
        if len(piece):
            yield piece


def _take(
    runs: Runs,
    found: Compared,
    gone: list[str],
    hi: str | None,
    deferred: list[str] | None = None,
) -> int:
    """Check and hand over a piece's changes; return how many files it adds or changes."""
    changes: dict[str, Entry | None] = dict.fromkeys(gone)
    changes.update((e.path, e) for e in (*found.added, *found.modified))
    later = runs.check_layout(changes, found.added, hi)
    if deferred is not None:
        deferred.extend(later)
    runs.put(changes)
    return len(found.added) + len(found.modified)
