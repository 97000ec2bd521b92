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
            building = self.tmp / f"{version_id}.{uuid.uuid4().hex[:12]}"
            try:
                self._build_tree(store, settings, manifest, building)
                _remove_tree(tree)
                os.rename(building, tree)
            finally:
                _remove_tree(building)
            self.marker_path(version_id).write_text(f"{manifest.ref}\n")
        return tree

    def _build_tree(
        self, store: Store, settings: Settings, manifest: Manifest, building: Path
    ) -> None:
        """Fill ``building`` with the version's files; new content also becomes blobs.

        A file whose blob is cached is hard-linked from it. New content is written straight
        into the private temporary tree (published later by one rename of the whole tree, so
        no per-file rename is needed), verified, then hard-linked into ``blobs/``: a create
        and a link per new file instead of create, rename and link.
        """
        building.mkdir(parents=True)  # NOTE: an empty version is an empty folder, not nothing
        root = str(building)
        made: set[str] = {root}
        layout = LayoutChecker()
        fresh: dict[str, tuple[Entry, str]] = {}
        later: list[tuple[str, str]] = []
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
            blob = self._blob_str(entry)
            if blob in fresh:
                later.append((blob, target))
            elif _usable(blob, entry):
                _link_or_copy(blob, target)
            else:
                fresh[blob] = (entry, target)
        if fresh:
            destinations = {id(entry): target for entry, target in fresh.values()}
            fetch(
                store,
                settings,
                [entry for entry, _ in fresh.values()],
                manifest.root.hash_algorithm,
                lambda entry: destinations[id(entry)],
                mode=_READ_ONLY,
                atomic=False,
            )
            self._adopt(fresh)
        for blob, target in later:
            _link_or_copy(blob, target)

    def _adopt(self, fresh: dict[str, tuple[Entry, str]]) -> None:
        """Hard-link freshly written tree files into ``blobs/`` for every later version."""
        for folder in {blob.rpartition("/")[0] for blob in fresh}:
            os.makedirs(folder, exist_ok=True)
        for blob, (_, target) in fresh.items():
            try:
                os.link(target, blob)
            except FileExistsError:
                continue  # NOTE: another process cached the same content meanwhile
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                shutil.copyfile(target, blob)
                os.chmod(blob, _READ_ONLY)

    def drop(self, version_id: str) -> None:
        """Forget a version's tree (its blobs stay)."""
        self.marker_path(version_id).unlink(missing_ok=True)
        _remove_tree(self.tree_path(version_id))


def _usable(path: str, entry: Entry) -> bool:
    try:
        return os.stat(path).st_size == entry.size
    except FileNotFoundError:
        return False


_NO_LINKS = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP)


def _link_or_copy(blob: str, target: str) -> None:
    try:
        os.link(blob, target)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        shutil.copyfile(blob, target)
        os.chmod(target, _READ_ONLY)


def _remove_tree(path: Path) -> None:
    if path.exists():
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)
