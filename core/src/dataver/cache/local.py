"""The local cache: content-addressed blobs and materialised versions made of hard links.

::

    <cache>/blobs/<hh>/<hash>            read-only (0444) content, one file per distinct content
    <cache>/versions/<key>/<path>        a tree: hard links to blobs (reflinks or copies if not)
    <cache>/versions/<key>.complete      JSON marker written after the tree was renamed into place
    <cache>/locks/version-<key>.lock     build lock of a tree (filelock)
    <cache>/locks/fetch-<xyz>.lock       fetch locks, striped by pack/object hash (filelock)
    <cache>/locks/use-<key>              in-use leases of live processes (shared flock)
    <cache>/tmp/                         trees and downloads under construction
    <cache>/CACHEDIR.TAG                 tells backup tools to skip the cache

``<key>`` is the version id, or ``<id>~<digest of the patterns and part>`` for a subset or a part
(``get_local_copy(paths=..., part=..., num_parts=...)``), so neither ever shares a folder with
the full tree. A tree is
built under ``tmp/`` and renamed into place, then the marker is written; a tree without a
marker is never trusted. Content enters ``blobs/`` only after its hash matched.

The blobs and their fetch locks are :mod:`dataver.cache.blobs`' (:class:`Cache` builds on
:class:`~dataver.cache.blobs.BlobCache`); the materialised trees, their markers and leases are
here, eviction in :mod:`dataver.cache.prune`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import shutil
import time
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from filelock import FileLock
from pydantic import BaseModel, ByteSize, ConfigDict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from dataver.cache import leases
from dataver.cache.blobs import BlobCache, CachedLinker, blob_level, intact
from dataver.cache.links import place
from dataver.errors import FormatError, ValidationError
from dataver.gcpause import paused_gc
from dataver.manifest.parts import Part, select
from dataver.paths import LayoutChecker, PathMatcher, any_match, long_name, too_long

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from dataver.cache.prune import CacheInfo, PrunePlan
    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.settings import Settings
    from dataver.storage.base import Store

# NOTE: a marker's mtime is its tree's last use; touching it at most once a minute keeps a
# warm get to one stat in the common case.
_TOUCH_EVERY = 60.0

FETCH_BATCH = 65_536
"""New contents a cold get collects before it fetches them: what it holds per file (the
entry, its two paths, the fetch's maps: ~1.2 KiB) stays bounded at any size of version (a
cold get of 1,000,000 files held 1.2 GiB). A content met again in a later batch is found
in ``blobs/`` by the fetch, which looks again under its lock, and is not fetched twice."""


class TreeLabel(BaseModel):
    """What a marker records about the version a tree holds (for ``cache info``)."""

    model_config = ConfigDict(frozen=True)

    version_id: str
    dataset: str = ""
    project: str = ""
    version: str = ""


def tree_key(version_id: str, patterns: Iterable[str] | None, part: Part | None = None) -> str:
    """The cache key of a version's tree, of the subset ``patterns`` select, or of a part."""
    chosen = sorted({p.rstrip("/") for p in patterns or ()})  # NOTE: a leading "/" anchors
    if not chosen and part is None:
        return version_id
    text = "\n".join(chosen)
    if part is not None:
        # NOTE: JSON cannot be mistaken for a pattern list (a glob may hold a newline)
        text = orjson.dumps({"patterns": chosen, "part": [part.part, part.num_parts]}).decode()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{version_id}~{digest}"


def matchers_for(patterns: Iterable[str] | None) -> list[PathMatcher]:
    """Glob matchers for a subset get: a pattern with a ``/`` is anchored at the root.

    Like ``.gitignore``: ``*.jpg`` selects JPEGs at any depth, ``train/*.jpg`` only those
    directly in ``train/``, ``train`` everything under any folder named ``train``, and
    ``/labels.csv`` only the top-level ``labels.csv`` (a leading ``/`` anchors a name).
    """
    chosen = sorted({p.rstrip("/") for p in patterns or ()})
    return [PathMatcher(p, recursive="/" not in p) for p in chosen]


def _pattern_of(matcher: PathMatcher) -> str:
    """The pattern that gives ``matcher`` back through :func:`matchers_for` (for markers)."""
    anchored = not matcher.recursive and "/" not in matcher.pattern
    return "/" + matcher.pattern if anchored else matcher.pattern


class TreeSelection(NamedTuple):
    """A complete materialised tree of a version: its key and what it selects."""

    key: str
    matchers: list[PathMatcher]
    part: Part | None


class Cache(BlobCache):
    """A cache folder shared by every registry and process on the machine.

    Args:
        root: The cache folder (default ``DATAVER_CACHE_DIR``, else the user cache dir).

    Example:
        >>> cache = dataver.Cache()  # doctest: +SKIP
        >>> [(t.dataset, t.version, t.logical_bytes) for t in cache.info().trees]  # doctest: +SKIP
        [('images', '1.0.2', 40960000)]
        >>> plan = cache.plan_prune(max_size=10 << 30)  # doctest: +SKIP
        >>> cache.prune(plan).freed_bytes  # doctest: +SKIP
        0
    """

    # ------------------------------------------------------------------ housekeeping
    def info(self) -> CacheInfo:
        """What is cached: trees per dataset and version, sizes, last use, blobs, leftovers."""
        from dataver.cache.prune import cache_info

        return cache_info(self)

    def plan_prune(self, max_size: int | str | None = None) -> PrunePlan:
        """Plan eviction down to ``max_size`` bytes (``"50GB"`` works); nothing is removed.

        Without ``max_size``, only leftovers of killed processes are planned.

        Raises:
            ValidationError: ``max_size`` is not a size.
        """
        from dataver.cache.prune import plan_prune

        return plan_prune(self, parse_size(max_size))

    def prune(self, plan: PrunePlan | None = None) -> PrunePlan:
        """Execute a plan (default: a fresh plan without a size limit); return what was done.

        Trees held by live processes and trees being built are skipped, whatever the plan says.
        """
        from dataver.cache.prune import plan_prune, prune

        return prune(self, plan if plan is not None else plan_prune(self, None))

    # ------------------------------------------------------------------ trees
    def tree_path(self, key: str) -> Path:
        """Where the tree with cache key ``key`` (see :func:`tree_key`) is materialised."""
        return self.versions / key

    def marker_path(self, key: str) -> Path:
        return self.versions / f"{key}.complete"

    def lease_path(self, key: str) -> Path:
        return self.locks / f"use-{key}"

    def build_lock(self, key: str) -> FileLock:
        return FileLock(self.locks / f"version-{key}.lock")

    def is_complete(self, key: str) -> bool:
        """Whether the tree is fully materialised."""
        return self.marker_path(key).exists()

    def materialize(
        self,
        store: Store,
        settings: Settings,
        manifest: Manifest,
        version_id: str,
        patterns: list[str] | None = None,
        describe: Callable[[], TreeLabel] | None = None,
        part: Part | None = None,
    ) -> Path:
        """Return the read-only tree of a version (or of the files ``patterns`` select).

        ``describe`` names the version (dataset, project, version string) in the marker, for
        ``cache info``; it is called only when the tree is built. ``part`` keeps only that
        share of the (selected) files (:mod:`dataver.manifest.parts`), in a tree of its own.

        Built once per cache; later calls check the marker only (and, with
        ``DATAVER_CACHE_VERIFY=size|hash``, every file, repairing what is damaged).

        Raises:
            IntegrityError: Content in the registry is corrupt (nothing corrupt is cached).
            FormatError: The manifest holds a path that is both a file and a folder.
        """
        key = tree_key(version_id, patterns, part)
        matchers = matchers_for(patterns)
        tree = self.tree_path(key)
        # NOTE: lease first, then look: an eviction that held the lease lock exclusively has
        # finished (marker gone) before a new lease is granted.
        leases.hold(self.lease_path(key))
        if self._warm(key, manifest, matchers, settings, part):
            return tree
        self._setup()
        leases.hold(self.lease_path(key))
        with self.build_lock(key):
            if not self.is_complete(key):
                label = describe() if describe is not None else TreeLabel(version_id=version_id)
                self._build(store, settings, manifest, label, matchers, key, part)
        if settings.cache_max_size is not None:
            self.prune(self.plan_prune(int(settings.cache_max_size)))
        return tree

    def _warm(
        self,
        key: str,
        manifest: Manifest,
        matchers: list[PathMatcher],
        settings: Settings,
        part: Part | None = None,
    ) -> bool:
        marker = self.marker_path(key)
        try:
            stat = marker.stat()
        except FileNotFoundError:
            return False
        if time.time() - stat.st_mtime > _TOUCH_EVERY:
            with contextlib.suppress(OSError):
                os.utime(marker)
        if settings.cache_verify == "marker":
            return True
        bad = self.check_tree(key, manifest, matchers, settings.cache_verify, part)
        if not bad:
            return True
        self._discard(key, manifest, bad)
        return False

    def check_tree(
        self,
        key: str,
        manifest: Manifest,
        matchers: list[PathMatcher],
        level: str,
        part: Part | None = None,
    ) -> list[str]:
        """Return the paths of a materialised tree whose size (or hash) is wrong."""
        tree = str(self.tree_path(key))
        algorithm = manifest.root.hash_algorithm
        return [
            entry.path
            for entry in select(manifest, matchers, part)
            if not intact(f"{tree}/{entry.path}", entry, level, algorithm)
        ]

    def _discard(self, key: str, manifest: Manifest, bad: list[str]) -> None:
        """Forget a damaged tree and the damaged blobs it shares, so a rebuild fetches them."""
        self._setup()
        wanted = set(bad)
        with self.build_lock(key):
            for entry in manifest:
                if entry.path in wanted:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self._blob_str(entry))
            self.drop(key)

    def _build(
        self,
        store: Store,
        settings: Settings,
        manifest: Manifest,
        label: TreeLabel,
        matchers: list[PathMatcher],
        key: str,
        part: Part | None = None,
    ) -> None:
        tree = self.tree_path(key)
        self._remove_leftovers(key)
        building = self.tmp / f"{key}.{uuid.uuid4().hex[:12]}"
        try:
            # NOTE: a tree's entries, paths and futures form no cycles, but allocating 100,000s
            # of them triggers collections that traverse everything alive (~5% of a cold get
            # of 100,000 files, measured with perf).
            with paused_gc():
                files, size = self._build_tree(store, settings, manifest, building, matchers, part)
            _remove_tree(tree)
            os.rename(building, tree)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
            raise _name_too_long(exc, manifest, matchers) from exc
        finally:
            _remove_tree(building)
        marker = {
            "format": 1,
            **label.model_dump(),
            "manifest": manifest.ref,
            "patterns": [_pattern_of(m) for m in matchers],
            "part": None if part is None else [part.part, part.num_parts],
            "files": files,
            "bytes": size,
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        }
        self.marker_path(key).write_bytes(orjson.dumps(marker))

    def _remove_leftovers(self, key: str) -> None:
        """Remove trees of ``key`` that a killed process left half built (we hold its lock)."""
        for leftover in self.tmp.glob(f"{key}.*"):
            _remove_tree(leftover)

    def _build_tree(
        self,
        store: Store,
        settings: Settings,
        manifest: Manifest,
        building: Path,
        matchers: list[PathMatcher],
        part: Part | None = None,
    ) -> tuple[int, int]:
        """Fill ``building`` with the version's files; new content also becomes blobs.

        A file whose blob is cached (and intact) is linked from it. New content is written
        straight into the private temporary tree (published later by one rename of the whole
        tree), verified, then hard-linked into ``blobs/``: a create and a link per new file.

        Returns:
            The number of files and their total size.
        """
        building.mkdir(parents=True)  # NOTE: an empty version is an empty folder, not nothing
        root = str(building)
        made: set[str] = {root}
        layout = LayoutChecker()
        algorithm = manifest.root.hash_algorithm
        cached = CachedLinker(blob_level(settings), algorithm)
        fresh: dict[str, tuple[Entry, str]] = {}
        later: list[tuple[str, str]] = []
        files = size = 0
        for entry in select(manifest, matchers, part):
            folder = layout.file_above(entry.path)
            if folder is not None:
                raise FormatError(
                    f"manifest {manifest.ref} has both a file {folder!r} and {entry.path!r}",
                    path=entry.path,
                )
            files += 1
            size += entry.size
            target = f"{root}/{entry.path}"
            parent = target.rpartition("/")[0]
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            blob = self._blob_str(entry)
            if blob in fresh:
                later.append((blob, target))
            elif not cached(blob, target, entry):
                fresh[blob] = (entry, target)
                if len(fresh) >= FETCH_BATCH:
                    self._fetch_batch(store, settings, fresh, later, algorithm)
                    fresh, later = {}, []
        self._fetch_batch(store, settings, fresh, later, algorithm)
        return files, size

    def _fetch_batch(
        self,
        store: Store,
        settings: Settings,
        fresh: dict[str, tuple[Entry, str]],
        later: list[tuple[str, str]],
        algorithm: str,
    ) -> None:
        """Fetch ``fresh`` content into the tree, then link the files that share it."""
        if fresh:
            self._fetch_fresh(store, settings, fresh, algorithm)
        for blob, target in later:
            place(blob, target)

    def drop(self, key: str) -> None:
        """Forget a tree (its blobs stay): the marker first, so nobody trusts what is left."""
        self.marker_path(key).unlink(missing_ok=True)
        _remove_tree(self.tree_path(key))

    def drop_version(self, version_id: str) -> None:
        """Forget every tree of a version: the full one and its subsets."""
        self.drop(version_id)
        if self.versions.is_dir():
            for marker in self.versions.glob(f"{version_id}~*.complete"):
                self.drop(marker.name.removesuffix(".complete"))

    def trees_of(self, version_id: str) -> list[TreeSelection]:
        """The complete trees of a version (what each selects), the full tree first."""
        found: list[TreeSelection] = []
        if self.is_complete(version_id):
            found.append(TreeSelection(version_id, [], None))
        if self.versions.is_dir():
            for marker in sorted(self.versions.glob(f"{version_id}~*.complete")):
                key = marker.name.removesuffix(".complete")
                data = self.read_marker(key) or {}
                patterns = data.get("patterns")
                if isinstance(patterns, list):
                    matchers = matchers_for([str(p) for p in patterns])
                    found.append(TreeSelection(key, matchers, _marker_part(data.get("part"))))
        return found

    def repair(
        self,
        store: Store,
        settings: Settings,
        manifest: Manifest,
        version_id: str,
        bad: list[str],
        describe: Callable[[], TreeLabel] | None = None,
    ) -> None:
        """Re-fetch the damaged files of a version's cached trees and rebuild those trees."""
        for key, matchers, part in self.trees_of(version_id):
            self._discard(key, manifest, bad)
            patterns = [_pattern_of(m) for m in matchers] or None
            self.materialize(store, settings, manifest, version_id, patterns, describe, part)

    def read_marker(self, key: str) -> dict[str, Any] | None:
        """The marker of a complete tree, or None."""
        try:
            loaded = orjson.loads(self.marker_path(key).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        return loaded if isinstance(loaded, dict) else None


def _marker_part(value: object) -> Part | None:
    """The part a marker records (``[index, count]``), or None (the whole selection)."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] < value[1]
    ):
        return Part(value[0], value[1])
    return None


def parse_size(value: int | str | None) -> int | None:
    """Bytes from ``50GB``, ``1.5GiB``, ``1000`` or an int; None stays None.

    Raises:
        ValidationError: Not a size.
    """
    if value is None:
        return None
    try:
        size = int(TypeAdapter(ByteSize).validate_python(value))
    except PydanticValidationError as exc:
        raise ValidationError(f"not a size: {value!r} (e.g. 50GB, 1.5GiB, 1000)") from exc
    if size < 0:
        raise ValidationError(f"a size cannot be negative: {value!r}")
    return size


def _name_too_long(
    exc: OSError, manifest: Manifest, matchers: list[PathMatcher]
) -> ValidationError:
    """The error for a tree the file system refused a name of, naming the dataset path.

    NOTE: looked for only once the file system refused (no cost per file on the way): add
    refuses such names now, so only versions written before that (or by hand) hold one.
    """
    for entry in manifest:
        name = long_name(entry.path)
        if name is not None and (not matchers or any_match(matchers, entry.path)):
            return too_long(
                entry.path, name, "get the other files with a subset (paths=...) or open() it"
            )
    where = exc.filename
    return ValidationError(
        f"cannot materialise {where}: {exc.strerror} (this file system's limit on names or "
        "paths is lower than dataver's; a cache folder with a shorter path, "
        "DATAVER_CACHE_DIR, may help)",
        path=str(where),
    )


def _remove_tree(path: Path) -> None:
    if path.exists():
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)
