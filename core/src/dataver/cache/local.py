"""The local cache: content-addressed blobs and materialised versions made of hard links.

::

    <cache>/blobs/<hh>/<hash>          read-only (0444) content, one file per distinct content
    <cache>/versions/<id>/<path>       a version's tree: hard links to blobs (copies if needed)
    <cache>/versions/<id>.complete     marker written after the tree was renamed into place
    <cache>/locks/                     filelock files (per version)
    <cache>/tmp/                       trees and downloads under construction
    <cache>/CACHEDIR.TAG               tells backup tools to skip the cache

A tree is built under ``tmp/`` and renamed into place, then the marker is written; a tree
without a marker is never trusted. A blob is renamed into place only after its hash matched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from dataver.errors import FormatError
from dataver.objects.fetch import fetch
from dataver.paths import LayoutChecker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.settings import Settings
    from dataver.storage.base import Store

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# dataver cache: safe to delete.\n"
_READ_ONLY = 0o444


class Cache:
    """A cache folder shared by every registry and process on the machine.

    Args:
        root: The cache folder (``DATAVER_CACHE_DIR``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.blobs = self.root / "blobs"
        self.versions = self.root / "versions"
        self.locks = self.root / "locks"
        self.tmp = self.root / "tmp"
        self._blobs_str = str(self.blobs)

    def _setup(self) -> None:
        for folder in (self.blobs, self.versions, self.locks, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(_TAG)

    def blob_path(self, entry: Entry) -> Path:
        """Where the content of ``entry`` lives in the cache."""
        return Path(self._blob_str(entry))

    def _blob_str(self, entry: Entry) -> str:
        # NOTE: plain strings on this path: pathlib costs ~3 us a file, a third of the time
        # of materialising a small file.
        key = entry.hash or "url-" + hashlib.sha256((entry.url or "").encode()).hexdigest()
        return f"{self._blobs_str}/{key[:2]}/{key}"

    def tree_path(self, version_id: str) -> Path:
        """Where the tree of a version is materialised."""
        return self.versions / version_id

    def marker_path(self, version_id: str) -> Path:
        return self.versions / f"{version_id}.complete"

    def is_complete(self, version_id: str) -> bool:
        """Whether the version's tree is fully materialised."""
        return self.marker_path(version_id).exists()

    def materialize(
        self, store: Store, settings: Settings, version_id: str, manifest: Manifest
    ) -> Path:
        """Return the read-only tree of a version, building it once.

        Raises:
            IntegrityError: Content in the registry is corrupt (nothing corrupt is cached).
            FormatError: The manifest holds a path that is both a file and a folder.
        """
        tree = self.tree_path(version_id)
        if self.is_complete(version_id):
            return tree
        self._setup()
        with FileLock(self.locks / f"version-{version_id}.lock"):
            if self.is_complete(version_id):
                return tree
            self.ensure_blobs(store, settings, manifest)
            building = self.tmp / f"{version_id}.{uuid.uuid4().hex[:12]}"
            try:
                self._link_tree(manifest, building)
                _remove_tree(tree)
                os.rename(building, tree)
            finally:
                _remove_tree(building)
            self.marker_path(version_id).write_text(f"{manifest.ref}\n")
        return tree

    def ensure_blobs(self, store: Store, settings: Settings, manifest: Manifest) -> None:
        """Download the content of ``manifest`` that the cache lacks, verified."""
        missing: dict[str, Entry] = {}
        for entry in manifest:
            path = self._blob_str(entry)
            if path not in missing and not _usable(path, entry):
                missing[path] = entry
        if not missing:
            return
        for folder in {path.rpartition("/")[0] for path in missing}:
            os.makedirs(folder, exist_ok=True)
        fetch(
            store,
            settings,
            list(missing.values()),
            manifest.root.hash_algorithm,
            self._blob_dest,
            mode=_READ_ONLY,
        )

    def _blob_dest(self, entry: Entry) -> str:
        return self._blob_str(entry)

    def _link_tree(self, manifest: Manifest, building: Path) -> None:
        building.mkdir(parents=True)  # NOTE: an empty version is an empty folder, not nothing
        root = str(building)
        made: set[str] = {root}
        layout = LayoutChecker()
        for entry in manifest:
            folder = layout.file_above(entry.path)
            if folder is not None:
                raise FormatError(
                    f"manifest {manifest.ref} has both a file {folder!r} and {entry.path!r}",
                    path=entry.path,
                )
            target = f"{root}/{entry.path}"
            parent = target.rpartition("/")[0]
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            _link_or_copy(self._blob_str(entry), target)

    def iter_trees(self) -> Iterator[str]:
        """Yield the ids of complete trees."""
        if self.versions.is_dir():
            for marker in self.versions.glob("*.complete"):
                yield marker.name[: -len(".complete")]

    def drop(self, version_id: str) -> None:
        """Forget a version's tree (its blobs stay)."""
        self.marker_path(version_id).unlink(missing_ok=True)
        _remove_tree(self.tree_path(version_id))


def _usable(path: str, entry: Entry) -> bool:
    try:
        return os.stat(path).st_size == entry.size
    except FileNotFoundError:
        return False


def _link_or_copy(blob: str, target: str) -> None:
    try:
        os.link(blob, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(blob, target)
        os.chmod(target, _READ_ONLY)


def _remove_tree(path: Path) -> None:
    if path.exists():
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)
