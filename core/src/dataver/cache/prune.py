"""What the cache holds (``cache info``), and byte-budgeted LRU eviction (``cache prune``).

Eviction is planned first (:func:`plan_prune`, read-only), then executed (:func:`prune`),
which re-checks every step: a tree that a live process holds (see :mod:`leases`) or that is
being built is never removed, and a blob is deleted only when no tree links it any more.

Bytes are counted per inode: a tree of hard links adds nothing to its blobs, a tree made of
copies (another file system) adds its own bytes. Least recently used goes first: a tree's last
use is its marker's mtime (touched by gets), a blob's its mtime (touched by ``open``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import Timeout
from pydantic import BaseModel, ConfigDict

from dataver.cache import leases

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.cache.local import Cache

_MARKER = ".complete"
_TREE_TMP = re.compile(r"(?P<key>[0-9a-f]{32}(~[0-9a-f]{16})?)\.[0-9a-f]{12}")
# NOTE: other temporary files (downloads of verify) are leftovers only once nobody has written
# them for this long.
_STALE_TMP_SECONDS = 3600.0


class CachedTree(BaseModel):
    """One materialised tree: a version, or a subset of one (``patterns``)."""

    model_config = ConfigDict(frozen=True)

    key: str
    version_id: str
    dataset: str
    project: str
    version: str
    patterns: tuple[str, ...]
    files: int
    logical_bytes: int
    own_bytes: int
    """Bytes freed by evicting this tree alone (blobs no other tree links, plus copies)."""
    last_used: dt.datetime
    in_use: bool


class CacheInfo(BaseModel):
    """What the cache holds."""

    model_config = ConfigDict(frozen=True)

    root: str
    total_bytes: int
    blob_count: int
    blob_bytes: int
    unlinked_blob_bytes: int
    """Bytes of blobs no tree links (kept for later versions and ``open``)."""
    trees: tuple[CachedTree, ...]
    leftovers: tuple[str, ...]
    """Half-built trees and downloads of killed processes."""


class PlannedTree(BaseModel):
    """A tree to evict, and the blobs only it links."""

    model_config = ConfigDict(frozen=True)

    key: str
    blobs: tuple[str, ...]
    freed_bytes: int


class PrunePlan(BaseModel):
    """What :func:`prune` will remove (nothing is removed by planning)."""

    model_config = ConfigDict(frozen=True)

    max_size: int | None
    total_bytes: int
    trees: tuple[PlannedTree, ...]
    blobs: tuple[str, ...]
    """Blobs no tree links, evicted by age."""
    leftovers: tuple[str, ...]
    freed_bytes: int
    kept_in_use: tuple[str, ...]
    """Trees that would have gone but a live process holds them."""

    @property
    def is_empty(self) -> bool:
        return not (self.trees or self.blobs or self.leftovers)


@dataclass
class _Blob:
    path: str
    size: int
    mtime: float
    refs: int = 0


@dataclass
class _Tree:
    key: str
    marker: dict[str, object]
    last_used: float
    inodes: set[int] = field(default_factory=set)
    copy_bytes: int = 0
    in_use: bool = False


@dataclass
class _Scan:
    blobs: dict[int, _Blob]
    trees: list[_Tree]
    leftovers: list[str]

    @property
    def total(self) -> int:
        return sum(b.size for b in self.blobs.values()) + sum(t.copy_bytes for t in self.trees)


def cache_info(cache: Cache) -> CacheInfo:
    """Describe the cache: trees (per dataset and version) with sizes and last use, blobs.

    Example:
        >>> info = cache_info(Cache(tmp_path))  # doctest: +SKIP
        >>> info.total_bytes, len(info.trees)  # doctest: +SKIP
        (40960000, 2)
    """
    scan = _scan(cache)
    blob_bytes = sum(b.size for b in scan.blobs.values())
    return CacheInfo(
        root=str(cache.root),
        total_bytes=scan.total,
        blob_count=len(scan.blobs),
        blob_bytes=blob_bytes,
        unlinked_blob_bytes=sum(b.size for b in scan.blobs.values() if b.refs == 0),
        trees=tuple(_describe(t, _own_bytes(t, scan.blobs)) for t in scan.trees),
        leftovers=tuple(scan.leftovers),
    )


def plan_prune(cache: Cache, max_size: int | None) -> PrunePlan:
    """Plan eviction down to ``max_size`` bytes, least recently used first.

    Blobs no tree links and trees no live process holds are candidates, oldest first; evicting
    a tree also frees the blobs only it links. Leftovers of killed processes always go.
    ``max_size=None`` plans only the leftovers.
    """
    scan = _scan(cache)
    total = scan.total
    planned: list[PlannedTree] = []
    blobs: list[str] = []
    kept: list[str] = []
    freed = 0
    if max_size is not None and total > max_size:
        candidates: list[tuple[float, _Tree | _Blob]] = [
            (b.mtime, b) for b in scan.blobs.values() if b.refs == 0
        ]
        candidates += [(t.last_used, t) for t in scan.trees]
        for _, item in sorted(candidates, key=lambda c: c[0]):
            if total - freed <= max_size:
                break
            if isinstance(item, _Blob):
                blobs.append(item.path)
                freed += item.size
            elif item.in_use:
                kept.append(item.key)
            else:
                tree = _evict_in_plan(item, scan.blobs)
                planned.append(tree)
                freed += tree.freed_bytes
    return PrunePlan(
        max_size=max_size,
        total_bytes=total,
        trees=tuple(planned),
        blobs=tuple(blobs),
        leftovers=tuple(scan.leftovers),
        freed_bytes=freed,
        kept_in_use=tuple(kept),
    )


def prune(cache: Cache, plan: PrunePlan) -> PrunePlan:
    """Execute a plan; steps that became unsafe meanwhile are skipped.

    Returns:
        What was actually removed.
    """
    done_trees = [t for t in plan.trees if _evict_tree(cache, t.key)]
    for tree in done_trees:
        for blob in tree.blobs:
            _remove_unlinked(blob)
    removed = {b: size for b in plan.blobs if (size := _remove_unlinked(b)) is not None}
    gone = [p for p in plan.leftovers if _remove_leftover(cache, Path(p))]
    freed = sum(t.freed_bytes for t in done_trees) + sum(removed.values())
    return plan.model_copy(
        update={
            "trees": tuple(done_trees),
            "blobs": tuple(removed),
            "leftovers": tuple(gone),
            "freed_bytes": freed,
            "kept_in_use": plan.kept_in_use
            + tuple(t.key for t in plan.trees if t not in done_trees),
        }
    )


# ---------------------------------------------------------------------- scanning


def _scan(cache: Cache) -> _Scan:
    blobs = dict(_walk_blobs(cache.blobs))
    trees: list[_Tree] = []
    leftovers: list[str] = []
    for key, marker_path in _markers(cache):
        marker = cache.read_marker(key)
        if marker is None:
            continue
        try:
            last_used = marker_path.stat().st_mtime
        except FileNotFoundError:
            continue
        tree = _Tree(key, marker, last_used)
        _walk_tree(cache.tree_path(key), tree, blobs)
        with leases.exclusive(cache.lease_path(key)) as free:
            tree.in_use = not free
        trees.append(tree)
    complete = {t.key for t in trees}
    leftovers += [
        str(p)
        for p in _children(cache.versions)
        if p.is_dir() and p.name not in complete and not _busy(cache, p.name)
    ]
    leftovers += [str(p) for p in _children(cache.tmp) if _is_leftover(cache, p)]
    return _Scan(blobs, trees, leftovers)


def _walk_blobs(root: Path) -> Iterator[tuple[int, _Blob]]:
    for folder in _children(root):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(folder) as it:
            for item in it:
                if item.name.endswith(".tmp"):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st = item.stat(follow_symlinks=False)
                    yield st.st_ino, _Blob(item.path, st.st_size, st.st_mtime)


def _walk_tree(path: Path, tree: _Tree, blobs: dict[int, _Blob]) -> None:
    for folder, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(os.path.join(folder, name))
                if st.st_ino in tree.inodes:
                    continue
                tree.inodes.add(st.st_ino)
                blob = blobs.get(st.st_ino)
                if blob is None:
                    tree.copy_bytes += st.st_size
                else:
                    blob.refs += 1


def _markers(cache: Cache) -> Iterator[tuple[str, Path]]:
    for path in _children(cache.versions):
        if path.name.endswith(_MARKER):
            yield path.name.removesuffix(_MARKER), path


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return []


def _is_leftover(cache: Cache, path: Path) -> bool:
    """Whether a ``tmp/`` entry belongs to no live process."""
    tree = _TREE_TMP.fullmatch(path.name)
    if tree is not None:
        return not _busy(cache, tree["key"])
    try:
        return time.time() - path.lstat().st_mtime > _STALE_TMP_SECONDS
    except FileNotFoundError:
        return False


def _busy(cache: Cache, key: str) -> bool:
    """Whether a process is building the tree ``key`` now (its build lock is taken)."""
    lock = cache.build_lock(key)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        return True
    lock.release()
    return False


# ---------------------------------------------------------------------- planning


def _own_bytes(tree: _Tree, blobs: dict[int, _Blob]) -> int:
    only_here = sum(b.size for ino, b in blobs.items() if ino in tree.inodes and b.refs == 1)
    return tree.copy_bytes + only_here


def _evict_in_plan(tree: _Tree, blobs: dict[int, _Blob]) -> PlannedTree:
    """Plan a tree's eviction; the blobs only it links go with it."""
    freed = tree.copy_bytes
    owned: list[str] = []
    for ino in tree.inodes:
        blob = blobs.get(ino)
        if blob is None:
            continue
        blob.refs -= 1
        if blob.refs == 0:
            owned.append(blob.path)
            freed += blob.size
    return PlannedTree(key=tree.key, blobs=tuple(sorted(owned)), freed_bytes=freed)


def _describe(tree: _Tree, own: int) -> CachedTree:
    marker = tree.marker
    return CachedTree(
        key=tree.key,
        version_id=str(marker.get("version_id", tree.key.split("~")[0])),
        dataset=str(marker.get("dataset", "")),
        project=str(marker.get("project", "")),
        version=str(marker.get("version", "")),
        patterns=tuple(str(p) for p in _list(marker.get("patterns"))),
        files=_int(marker.get("files")),
        logical_bytes=_int(marker.get("bytes")),
        own_bytes=own,
        last_used=dt.datetime.fromtimestamp(tree.last_used, tz=dt.timezone.utc),
        in_use=tree.in_use,
    )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


# ---------------------------------------------------------------------- executing


def _evict_tree(cache: Cache, key: str) -> bool:
    lease = cache.lease_path(key)
    with leases.exclusive(lease) as free:
        if not free:
            return False
        lock = cache.build_lock(key)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return False
        try:
            cache.drop(key)
            leases.remove(lease)
        finally:
            lock.release()
    return True


def _remove_unlinked(path: str) -> int | None:
    """Delete a blob that no tree links (one link: its own name); return its size."""
    try:
        st = os.stat(path)
        if st.st_nlink != 1:
            return None
        os.unlink(path)
    except FileNotFoundError:
        return None
    return st.st_size


def _remove_leftover(cache: Cache, path: Path) -> bool:
    is_tree_dir = path.parent == cache.versions
    if (is_tree_dir and _busy(cache, path.name)) or (
        not is_tree_dir and not _is_leftover(cache, path)
    ):
        return False
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return True
