"""Scanning local files into manifest entries: walk, stat, hash what changed."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from dataver.errors import NotFoundError, ValidationError
from dataver.hashing import hash_file
from dataver.manifest.entry import Entry
from dataver.paths import PathMatcher, any_match, join
from dataver.statcache import FileStat

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.statcache import StatCache


class LocalFile(NamedTuple):
    """A local file found by a scan, with its dataset path."""

    path: str
    local: str
    stat: FileStat


def scan(
    source: str | os.PathLike[str], prefix: str, *, wildcards: list[str] | None, recursive: bool
) -> list[LocalFile]:
    """List the files to add from a file or folder, sorted by dataset path.

    A folder contributes its contents relative to itself, under ``prefix``; a single file
    contributes itself by name. Symbolic links to files are followed; links to folders are
    not descended (they could loop or leave the tree).

    Raises:
        NotFoundError: ``source`` does not exist.
        ValidationError: ``source`` is neither a file nor a folder.
    """
    root = Path(source).expanduser().absolute()
    matchers = [PathMatcher(w, recursive=True) for w in wildcards or []]
    if root.is_file():
        if not any_match(matchers, root.name):
            return []
        return [LocalFile(join(prefix, root.name), str(root), FileStat.of(root.stat()))]
    if not root.exists():
        raise NotFoundError(f"no such file or folder: {root}", path=str(root))
    if not root.is_dir():
        raise ValidationError(f"not a regular file or folder: {root}", path=str(root))
    skip = len(prefix) + 1 if prefix else 0
    found = [f for f in _walk(root, prefix, recursive) if any_match(matchers, f.path[skip:])]
    found.sort(key=lambda f: f.path)
    return found


def _walk(root: Path, prefix: str, recursive: bool) -> Iterator[LocalFile]:
    stack = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as entries:
            for item in entries:
                relpath = f"{rel}/{item.name}" if rel else item.name
                if item.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append((item.path, relpath))
                elif item.is_file():
                    yield LocalFile(join(prefix, relpath), item.path, FileStat.of(item.stat()))


def hash_files(
    files: list[LocalFile], algorithm: str, cache: StatCache, *, folder: str | None, workers: int
) -> list[Entry]:
    """Return pending entries for ``files``, hashing only those the stat cache cannot vouch for.

    Args:
        files: Scanned files.
        algorithm: Content hash algorithm.
        cache: The stat cache.
        folder: The scanned folder (absolute), to prefetch the cache in one query.
        workers: Hashing threads (hashing releases the GIL).
    """
    known = cache.lookup_folder(folder, algorithm) if folder else {}
    hashes: dict[str, str] = {}
    todo: list[LocalFile] = []
    for f in files:
        hit = known.get(f.local) if folder else cache.lookup(f.local, algorithm)
        if hit is not None and hit[0] == f.stat:
            hashes[f.local] = hit[1]
        else:
            todo.append(f)
    if todo:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            digests = list(pool.map(lambda f: _hash(f.local, algorithm), todo))
        hashes.update(zip((f.local for f in todo), digests, strict=False))
        cache.store(((f.local, f.stat, hashes[f.local]) for f in todo), algorithm)
    return [Entry(f.path, f.stat.size, hashes[f.local], source=f.local) for f in files]


def _hash(local: str, algorithm: str) -> str:
    try:
        return hash_file(local, algorithm)
    except FileNotFoundError as exc:
        raise NotFoundError(f"file vanished while adding: {local}", path=local) from exc
    except OSError as exc:
        raise ValidationError(f"cannot read {local}: {exc.strerror or exc}", path=local) from exc
