"""The cache folder's content-addressed blobs, fetched at most once per cache.

::

    <cache>/blobs/<hh>/<hash>            read-only (0444) content, one file per distinct content
    <cache>/locks/fetch-<xyz>.lock       fetch locks, striped by pack/file hash (filelock)

Content enters ``blobs/`` only after its hash matched. A blob already in the cache is never
downloaded again, whichever version asks; processes fetching the same content wait for each
other per stripe of pack/object hashes instead of downloading it twice. The trees made of these
blobs are :class:`~dataver.cache.local.Cache`'s.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from dataver.cache.donors import Donors
from dataver.cache.links import NO_LINKS, READ_ONLY, clone_or_copy, place
from dataver.hashing import hash_file
from dataver.objects.fetch import fetch

if TYPE_CHECKING:
    from dataver.manifest.entry import Entry
    from dataver.settings import Settings
    from dataver.storage.base import Store

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# dataver cache: safe to delete.\n"


class BlobCache:
    """The folders of a cache, and its blobs: where they live, and fetching them once.

    Args:
        root: The cache folder (default ``DATAVER_CACHE_DIR``, else the user cache dir).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            from dataver.settings import get_settings

            root = get_settings().cache_dir
        self.root = Path(root).expanduser().absolute()
        self.blobs = self.root / "blobs"
        self.versions = self.root / "versions"
        self.locks = self.root / "locks"
        self.tmp = self.root / "tmp"
        self._blobs_str = str(self.blobs)
        self.donors = Donors(self.root / "chunked", self._blob_of_hash)

    def _setup(self) -> None:
        for folder in (self.blobs, self.versions, self.locks, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(_TAG)

    # ------------------------------------------------------------------ paths
    def blob_path(self, entry: Entry) -> Path:
        """Where the content of ``entry`` lives in the cache."""
        return Path(self._blob_str(entry))

    def _blob_of_hash(self, digest: str) -> str:
        return f"{self._blobs_str}/{digest[:2]}/{digest}"

    def _blob_str(self, entry: Entry) -> str:
        # NOTE: plain strings on this path: pathlib costs ~3 us a file, a third of the time
        # of materialising a small file.
        key = entry.hash or "url-" + hashlib.sha256((entry.url or "").encode()).hexdigest()
        return f"{self._blobs_str}/{key[:2]}/{key}"

    # ------------------------------------------------------------------ fetching
    def _fetch_fresh(
        self,
        store: Store,
        settings: Settings,
        fresh: dict[str, tuple[Entry, str]],
        algorithm: str,
    ) -> None:
        """Fetch content into the tree and adopt it as blobs, at most once per cache.

        Fetches are locked per stripe of pack/object hashes. Stripes free now are fetched at
        once (in parallel); a stripe another process is fetching is waited for afterwards,
        and only what that process did not bring is fetched then. No lock is waited for
        while another is held, so processes cannot deadlock.
        """
        groups: dict[str, list[str]] = {}
        for blob, (entry, _) in fresh.items():
            groups.setdefault(_stripe(entry), []).append(blob)
        pending = sorted(groups)
        while pending:
            held: list[FileLock] = []
            deferred: list[str] = []
            try:
                for stripe in pending:
                    lock = self._fetch_lock(stripe)
                    try:
                        lock.acquire(blocking=False)
                    except Timeout:
                        deferred.append(stripe)
                        continue
                    held.append(lock)
                mine = [b for s in pending if s not in deferred for b in groups[s]]
                self._fetch_missing(store, settings, {b: fresh[b] for b in mine}, algorithm)
            finally:
                for lock in held:
                    lock.release()
            if deferred:
                with self._fetch_lock(deferred[0]):
                    pass  # NOTE: wait for the other process's fetch, then look again
            pending = deferred

    def _fetch_lock(self, stripe: str) -> FileLock:
        return FileLock(self.locks / f"fetch-{stripe}.lock")

    def _fetch_missing(
        self,
        store: Store,
        settings: Settings,
        wanted: dict[str, tuple[Entry, str]],
        algorithm: str,
    ) -> None:
        cached = CachedLinker(blob_level(settings), algorithm)
        todo = {
            blob: (entry, target)
            for blob, (entry, target) in wanted.items()
            if not cached(blob, target, entry)
        }
        if not todo:
            return
        for folder in {blob.rpartition("/")[0] for blob in todo}:
            os.makedirs(folder, exist_ok=True)
        destinations = {id(entry): target for entry, target in todo.values()}
        blobs = {id(entry): blob for blob, (entry, _) in todo.items()}
        fetch(
            store,
            settings,
            [entry for entry, _ in todo.values()],
            algorithm,
            lambda entry: destinations[id(entry)],
            mode=READ_ONLY,
            atomic=False,
            local=functools.partial(self.donors.chunks_for, store),
            # NOTE: each file is linked on the thread that wrote it, as soon as it is written:
            # the links overlap the other threads' writes instead of following them all.
            link=lambda entry: blobs[id(entry)],
            placed=lambda entry, error: self._adopt(
                entry, destinations[id(entry)], blobs[id(entry)], error
            ),
        )

    def _adopt(self, entry: Entry, target: str, blob: str, error: int) -> None:
        """Settle the hard link of a freshly written tree file into ``blobs/`` (``error``:
        the errno of that link, 0 if made) for every later version."""
        if error == errno.EEXIST:
            if not intact(blob, entry, "size", ""):
                _replace_blob(target, blob)  # NOTE: a damaged blob: this one is verified
        elif error in NO_LINKS:
            _replace_blob(target, blob)
        elif error:
            raise OSError(error, os.strerror(error), blob)
        self.donors.remember(entry)

    def cached(self, settings: Settings, entry: Entry, algorithm: str) -> Path | None:
        """The intact blob of one entry if the cache holds it (checked at the cache's
        level), else None; nothing is fetched."""
        blob = self._blob_str(entry)
        return Path(blob) if intact(blob, entry, blob_level(settings), algorithm) else None

    def fetch_one(self, store: Store, settings: Settings, entry: Entry, algorithm: str) -> Path:
        """Return the path of the verified blob of one entry, fetching it if needed.

        Used by ``Dataset.open``: one file, without materialising the rest of its version.
        """
        cached = self.cached(settings, entry, algorithm)
        if cached is not None:
            return cached
        blob = self._blob_str(entry)
        level = blob_level(settings)
        self._setup()
        with self._fetch_lock(_stripe(entry)):
            if not intact(blob, entry, level, algorithm):
                os.makedirs(os.path.dirname(blob), exist_ok=True)
                fetch(
                    store,
                    settings,
                    [entry],
                    algorithm,
                    lambda _: blob,
                    mode=READ_ONLY,
                    local=functools.partial(self.donors.chunks_for, store),
                )
                self.donors.remember(entry)
        return Path(blob)


def blob_level(settings: Settings) -> str:
    """How a cached blob is checked before it is used: at least its size, whatever the level."""
    return "size" if settings.cache_verify == "marker" else settings.cache_verify


def _stripe(entry: Entry) -> str:
    """The fetch-lock stripe of an entry: 4,096 stripes by the hash of what holds it (its
    pack; else its own hash: an object, or a chunked file, whose chunks may be in many
    packs; else its link)."""
    holder = entry.pack or entry.hash or hashlib.sha256((entry.url or "").encode()).hexdigest()
    return holder[:3]


class CachedLinker:
    """Places cached, intact blobs in a tree: ``linker(blob, target, entry)``.

    NOTE: a blob whose ``blobs/<hh>`` folder does not exist is missing without a stat of
    its own: one stat per folder, not per file, in a cold cache (256 folders for 100,000
    files). A folder that appears meanwhile only costs a fetch of what was there already.
    """

    def __init__(self, level: str, algorithm: str) -> None:
        self._level = level
        self._algorithm = algorithm
        self._folders: dict[str, bool] = {}

    def __call__(self, blob: str, target: str, entry: Entry) -> bool:
        """Place the blob at ``target``; False if there is none to place."""
        folder = blob.rpartition("/")[0]
        exists = self._folders.get(folder)
        if exists is None:
            exists = self._folders[folder] = os.path.isdir(folder)
        return exists and link_cached(blob, target, entry, self._level, self._algorithm)


def link_cached(blob: str, target: str, entry: Entry, level: str, algorithm: str) -> bool:
    """Place a cached, intact blob at ``target``; False if there is none to place."""
    if not intact(blob, entry, level, algorithm):
        return False
    try:
        place(blob, target)
    except FileNotFoundError:
        return False  # NOTE: evicted between the check and the link
    return True


def intact(path: str, entry: Entry, level: str, algorithm: str) -> bool:
    """Whether ``path`` holds the content of ``entry``: by size, or by hash for ``hash``."""
    try:
        if os.stat(path).st_size != entry.size:
            return False
    except FileNotFoundError:
        return False
    if level != "hash" or entry.hash is None:
        return True
    try:
        return hash_file(Path(path), algorithm) == entry.hash
    except OSError:
        return False


def _replace_blob(source: str, blob: str) -> None:
    """Atomically replace ``blob`` with the verified content of ``source``."""
    tmp = f"{blob}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        try:
            os.link(source, tmp)
        except OSError as exc:
            if exc.errno not in NO_LINKS:
                raise
            clone_or_copy(source, tmp, READ_ONLY)
        os.replace(tmp, blob)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
