"""A dataset version: build it (add, remove, sync, upload, finalize), read it, trace it."""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from dataver.cache.links import clone_or_copy
from dataver.cache.local import TreeLabel
from dataver.diff import Diff, diff_manifests
from dataver.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    ValidationError,
    VersionNotFoundError,
)
from dataver.gcpause import paused_gc
from dataver.lineage import ancestry
from dataver.manifest import staged
from dataver.manifest.merge import apply_changes, relocate
from dataver.manifest.reader import Manifest
from dataver.objects.upload import journal_stored_bytes, upload_pending
from dataver.ops import change
from dataver.ops import transition as tr
from dataver.ops.verify import verify_version
from dataver.paths import PathMatcher, validate_path
from dataver.versions import repo
from dataver.versions.records import check_metadata, check_tags
from dataver.versions.state import READABLE, State, require

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import datetime

    from dataver.api.registry import Registry
    from dataver.manifest.entry import Entry
    from dataver.scan import Symlinks
    from dataver.versions.records import DatasetRecord, Stats, VersionRecord

_UPLOADING = frozenset({State.UPLOADING})
_EDITABLE = frozenset({State.UPLOADING, State.FINAL})


class Dataset:
    """One version of a dataset.

    Get one from :meth:`Registry.create`, :meth:`Registry.get` or :meth:`Registry.list`
    (or the ClearML-style :meth:`Dataset.create` / :meth:`Dataset.get`). Every change is a
    compare-and-swap on the version record: if another process changed the version since
    this object last saw it, the change raises :class:`~dataver.errors.ConflictError`.
    """

    def __init__(
        self,
        registry: Registry,
        record: VersionRecord,
        token: str | None,
        *,
        dataset: DatasetRecord | None = None,
    ) -> None:
        self._registry = registry
        self._record = record
        self._token = token
        self._dataset = dataset
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ ClearML-style entry
    @classmethod
    def create(
        cls,
        name: str,
        project: str = "default",
        parents: Sequence[str | Dataset] | Literal["latest"] | None = None,
        version: str | None = None,
        tags: Iterable[str] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        registry: Registry | None = None,
    ) -> Dataset:
        """Create a version on ``registry`` or the configured one (``DATAVER_REGISTRY``).

        See :meth:`Registry.create` for the arguments.
        """
        return _registry(registry).create(
            name, project, parents, version, tags, description, metadata
        )

    @classmethod
    def get(
        cls, id: str | None = None, *, registry: Registry | None = None, **query: Any
    ) -> Dataset:
        """Get a version from ``registry`` or the configured one; see :meth:`Registry.get`."""
        return _registry(registry).get(id, **query)

    # ------------------------------------------------------------------ identity
    @property
    def id(self) -> str:
        return self._record.id

    @property
    def version(self) -> str:
        return self._record.version

    @property
    def parents(self) -> tuple[str, ...]:
        return self._record.parents

    @property
    def state(self) -> State:
        return self._record.state

    @property
    def record(self) -> VersionRecord:
        """The version record as last read or written by this object."""
        return self._record

    @property
    def registry(self) -> Registry:
        return self._registry

    @property
    def dataset_record(self) -> DatasetRecord:
        if self._dataset is None:
            self._dataset = repo.load_dataset(self._registry.store, self._record.dataset_id)
        return self._dataset

    @property
    def name(self) -> str:
        return self.dataset_record.name

    @property
    def project(self) -> str:
        return self.dataset_record.project

    @property
    def uri(self) -> str:
        """``dataver://<project>/<name>@<version>``."""
        return f"dataver://{self.project}/{self.name}@{self.version}"

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._record.metadata)

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self._record.provenance)

    @property
    def tags(self) -> tuple[str, ...]:
        return self._record.tags

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def stats(self) -> Stats:
        return self._record.stats

    @property
    def error(self) -> str | None:
        """Why the version Failed or was Aborted."""
        return self._record.error

    @property
    def created_at(self) -> datetime:
        return self._record.created_at

    @property
    def is_stale(self) -> bool:
        """Uploading, but its writer stopped renewing its lease."""
        return tr.is_stale(self._record)

    def __repr__(self) -> str:
        return f"<Dataset {self.id} {self._record.version} {self.state.value}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def reload(self) -> Dataset:
        """Re-read the record from the registry; returns self."""
        with self._lock:
            self._record, self._token = repo.load(self._registry.store, self.id)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (id, name, project, version, state, uri, stats, ...)."""
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "version": self.version,
            "state": self.state.value,
            "uri": self.uri,
            "parents": list(self.parents),
            "tags": list(self.tags),
            "stats": self.stats.model_dump(),
            "created_at": self.created_at.isoformat(),
        }

    # ------------------------------------------------------------------ record swaps
    def _swap(self, build: Callable[[VersionRecord], VersionRecord]) -> None:
        with self._lock:
            store = self._registry.store
            if self._token is None:
                current, token = repo.load(store, self.id)
                if current != self._record:
                    raise self._stale_error(current)
                self._token = token
            new = build(self._record)
            try:
                self._record, self._token = repo.save(store, new, self._token)
            except ConflictError:
                try:
                    current, _ = repo.load(store, self.id)
                except VersionNotFoundError:
                    raise ConflictError(
                        f"version {self.id} was deleted by another process",
                        version_id=self.id,
                        state=State.DELETED.value,
                    ) from None
                raise self._stale_error(current) from None

    def _stale_error(self, current: VersionRecord) -> ConflictError:
        what = (
            f"became {current.state.value}"
            if current.state != self._record.state
            else "was changed"
        )
        return ConflictError(
            f"version {self.id} {what} by another writer; reload() it and retry",
            version_id=self.id,
            state=current.state.value,
        )

    def _require(self, allowed: frozenset[State], action: str) -> None:
        require(self.state, allowed, action, version_id=self.id)

    def _manifest(self) -> Manifest:
        """This version's content (staged changes applied, in memory)."""
        record = self._record
        return staged.view(
            self._registry.store, record.manifest, record.staged, record.hash_algorithm
        )

    def _base(self) -> Manifest:
        return Manifest(
            self._registry.store, self._record.base_manifest, self._record.hash_algorithm
        )

    def _apply(self, changes: dict[str, Entry | None]) -> None:
        if not changes:
            return
        record = self._record
        manifest, staged_ref = staged.stage(
            self._registry.store, record.manifest, record.staged, record.hash_algorithm, changes
        )
        update = {"manifest": manifest, "staged": staged_ref}
        self._swap(lambda r: tr.renew_record(self._registry.backend, r).model_copy(update=update))

    # ------------------------------------------------------------------ building
    def add_files(
        self,
        path: str | os.PathLike[str],
        dataset_path: str = "",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
        *,
        symlinks: Symlinks = "refuse",
    ) -> int:
        """Add a file, or a folder's files, to this Uploading version.

        A folder's contents are added relative to the folder, under ``dataset_path``; a file
        is added by its name under ``dataset_path``. Unchanged files are detected by hash
        (a stat cache avoids re-reading files whose size, mtime and inode did not change).

        Symbolic links inside the folder that lead to files inside it are stored as those
        files' content; links to folders inside it, dangling links and loops are left out.
        A path named here is followed even if it is a link (docs/concepts.md, "Symbolic
        links").

        Args:
            path: A local file or folder.
            dataset_path: Folder inside the dataset ("" for the root).
            wildcard: Glob(s) selecting files (matched at any depth, e.g. ``"*.jpg"``).
            recursive: Descend into sub-folders.
            symlinks: Links that lead outside the folder: ``"refuse"`` (the default: raise
                before anything is added), ``"follow"`` (add what they lead to; a folder
                is descended, loops are not) or ``"skip"`` (leave them out).

        Returns:
            How many files were added or changed.

        Raises:
            InvalidTransitionError: The version is not Uploading.
            NotFoundError: ``path`` does not exist.
            ValidationError: With ``symlinks="refuse"``, links lead outside the folder
                (named in the message; all of them in the ``links`` field).
            UnsafePathError: A resulting dataset path is unsafe.

        Example:
            >>> ds.add_files("data/", dataset_path="train")  # doctest: +SKIP
            3
        """
        self._require(_UPLOADING, "add files to")
        with paused_gc():  # NOTE: bulk tuples and lists, no cycles (see dataver.gcpause)
            changes, count = change.add_files(
                self._registry.backend,
                self._manifest(),
                path,
                dataset_path=dataset_path,
                wildcard=wildcard,
                recursive=recursive,
                symlinks=symlinks,
            )
            self._apply(changes)
        return count

    def add_external_files(
        self,
        url: str,
        dataset_path: str = "",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
    ) -> int:
        """Add links to files that stay where they are (any fsspec URL, e.g. ``file://``).

        Nothing is uploaded; :meth:`get_local_copy` fetches them. Each link records its size,
        and its hash when the bytes can be read cheaply (local files).

        Returns:
            How many links were added or changed.
        """
        self._require(_UPLOADING, "add links to")
        changes, count = change.add_external_files(
            self._manifest(), url, dataset_path=dataset_path, wildcard=wildcard, recursive=recursive
        )
        self._apply(changes)
        return count

    def remove_files(self, pattern: str, recursive: bool = True) -> int:
        """Remove files matching a glob (a folder name removes the folder's files).

        ``*.csv`` matches at any depth only with ``recursive=True``.

        Returns:
            How many files were removed (0 if nothing matched).
        """
        self._require(_UPLOADING, "remove files from")
        changes = change.remove_files(self._manifest(), pattern, recursive=recursive)
        self._apply(changes)
        return len(changes)

    def sync_folder(
        self,
        local_path: str | os.PathLike[str],
        dataset_path: str = "",
        *,
        symlinks: Symlinks = "refuse",
    ) -> tuple[int, int, int]:
        """Make ``dataset_path`` mirror a local folder: remove, add and replace files.

        External links under ``dataset_path`` are kept. Symbolic links are treated as by
        :meth:`add_files`; a file the policy leaves out is removed like a missing one.

        Args:
            local_path: The local folder.
            dataset_path: The part of the dataset that mirrors it ("" for the root).
            symlinks: Links that lead outside the folder: ``"refuse"`` (default),
                ``"follow"`` or ``"skip"`` (see :meth:`add_files`).

        Returns:
            ``(removed, added, modified)``.
        """
        self._require(_UPLOADING, "sync")
        backend = self._registry.backend
        with paused_gc():  # NOTE: bulk tuples and lists, no cycles (see dataver.gcpause)
            changes, counts, mark = change.sync_folder(
                backend, self._manifest(), local_path, dataset_path=dataset_path
            )
            self._apply(changes)
        if mark is not None:
            change.remember_sync(backend, mark, self._manifest())
        return counts.removed, counts.added, counts.modified

    def upload(self, max_workers: int | None = None) -> int:
        """Store the content added since the last upload; only bytes the registry lacks.

        Resumable: after a crash, calling it again sends only what is missing.

        Args:
            max_workers: Parallel transfers (default ``DATAVER_MAX_WORKERS``).

        Returns:
            Bytes newly stored by this call.
        """
        self._require(_UPLOADING, "upload")
        if max_workers is not None and max_workers < 1:
            raise ValidationError(f"max_workers must be >= 1, got {max_workers}")
        update, stored = self._upload(max_workers)
        if update is not None:
            backend = self._registry.backend
            self._swap(lambda r: tr.renew_record(backend, r).model_copy(update=update(r)))
        return stored

    def _upload(
        self, max_workers: int | None
    ) -> tuple[Callable[[VersionRecord], dict[str, Any]] | None, int]:
        """Store pending content; return the record update that records it (or None)."""
        backend = self._registry.backend
        settings = backend.settings
        if max_workers is not None:
            settings = settings.model_copy(update={"max_workers": max_workers})
        store, record = backend.store, self._record
        manifest = Manifest(store, record.manifest, record.hash_algorithm)
        refs: list[str | None] = []

        def write_manifest(located: dict[str, Entry]) -> None:
            # NOTE: staged changes and the new locations go into the manifest in one pass,
            # while the content is still being written (the record waits for both).
            if changes:
                refs.append(apply_changes(manifest, {**changes, **located}))
            elif located:
                refs.append(relocate(manifest, located))

        with self._heartbeat(), paused_gc():
            changes = staged.read_changes(store, record.staged)
            result = upload_pending(
                store,
                settings,
                version_id=self.id,
                pending=staged.pending_entries(manifest, changes),
                search=[manifest, self._base()],
                stat_cache=backend.stat_cache,
                meanwhile=write_manifest,
            )
        if not refs:
            return None, result.stored_bytes
        new_ref = refs[0]
        stored = journal_stored_bytes(store, self.id)

        def update(record: VersionRecord) -> dict[str, Any]:
            stats = record.stats.model_copy(update={"stored_bytes": stored})
            return {"manifest": new_ref, "staged": None, "stats": stats}

        return update, result.stored_bytes

    def _unstage(self) -> Callable[[VersionRecord], dict[str, Any]]:
        """The record update that applies staged changes to the manifest, uploading nothing."""
        store, record = self._registry.store, self._record
        with paused_gc():
            manifest = Manifest(store, record.manifest, record.hash_algorithm)
            new_ref = apply_changes(manifest, staged.read_changes(store, record.staged))
        return lambda _: {"manifest": new_ref, "staged": None}

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        from dataver import progress
        from dataver.errors import StorageError

        stop = threading.Event()
        interval = self._registry.settings.lease_seconds / 3

        def beat() -> None:
            # NOTE: no renewal while storage calls wait and nothing moved since the last beat
            # (the beat's own calls do not count): a build stuck on a call lets its lease
            # lapse, so others see it stale. Local work (hashing) is not stuck.
            seen = progress.pulses()
            with progress.unobserved():
                while not stop.wait(interval):
                    if progress.stuck(seen):
                        continue
                    seen = progress.pulses()
                    try:
                        self._swap(lambda r: tr.renew_record(self._registry.backend, r))
                    except ConflictError:
                        return
                    except StorageError:
                        continue  # NOTE: out of retries: the next beat tries again

        thread = threading.Thread(target=beat, name=f"dataver-lease-{self.id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def finalize(self, auto_upload: bool = False) -> None:
        """Seal the version: state Final, content immutable, usable as a parent.

        Args:
            auto_upload: Upload pending content first instead of refusing.

        Raises:
            PendingUploadError: Content is pending and ``auto_upload`` is False.
            InvalidTransitionError: The version is not Uploading.
            ConflictError: Another writer changed (e.g. finalized) the version first.
        """
        self._require(_UPLOADING, "finalize")
        backend = self._registry.backend
        update = None
        if auto_upload and self._manifest().root.pending:
            # NOTE: the upload's manifest and the Final state go in one record swap.
            update, _ = self._upload(None)
        elif self._record.staged is not None:
            update = self._unstage()  # NOTE: pending files among them: finalize_record refuses
        self._swap(
            lambda r: tr.finalize_record(
                backend, r.model_copy(update=update(r)) if update is not None else r
            )
        )
        tr.after_final(backend, self._record)

    def publish(self) -> None:
        """Make a Final version Published: read-only for good.

        Raises:
            InvalidTransitionError: The version is not Final.
        """
        self._require(frozenset({State.FINAL}), "publish")
        self._swap(tr.publish_record)

    def abort(self, reason: str | None = None) -> None:
        """Abort an Uploading version (yours, or a stale one left by a dead writer)."""
        self._require(_UPLOADING, "abort")
        self._swap(lambda r: tr.end_record(r, State.ABORTED, reason))
        tr.after_final(self._registry.backend, self._record)

    def fail(self, reason: str) -> None:
        """Mark an Uploading version Failed, recording why."""
        self._require(_UPLOADING, "fail")
        self._swap(lambda r: tr.end_record(r, State.FAILED, str(reason)))
        tr.after_final(self._registry.backend, self._record)

    # ------------------------------------------------------------------ annotations
    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the user metadata (Uploading or Final versions; Published are read-only)."""
        clean = check_metadata(metadata)
        self._require(_EDITABLE, "change metadata of")
        self._swap(lambda r: r.model_copy(update={"metadata": clean}))

    def add_tags(self, *tags: str) -> None:
        """Add tags (Uploading or Final versions)."""
        new = check_tags(tags)
        self._require(_EDITABLE, "tag")
        self._swap(lambda r: r.model_copy(update={"tags": check_tags([*r.tags, *new])}))

    def remove_tags(self, *tags: str) -> None:
        """Remove tags (Uploading or Final versions)."""
        self._require(_EDITABLE, "untag")
        self._swap(
            lambda r: r.model_copy(update={"tags": tuple(t for t in r.tags if t not in tags)})
        )

    def set_description(self, description: str) -> None:
        """Set the description (Uploading or Final versions)."""
        self._require(_EDITABLE, "describe")
        self._swap(lambda r: r.model_copy(update={"description": description}))

    # ------------------------------------------------------------------ reading
    def list_files(self, pattern: str | None = None) -> list[str]:
        """Return the sorted dataset paths, optionally only those matching a glob."""
        matcher = PathMatcher(pattern) if pattern else None
        return [e.path for e in self._manifest() if matcher is None or matcher.matches(e.path)]

    def entries(self) -> Iterator[Entry]:
        """Yield the manifest entries (path, size, hash, location) in path order."""
        return iter(self._manifest())

    def _baseline(self, other: str | Dataset | None) -> Manifest:
        if other is None:
            return self._base()
        target = other if isinstance(other, Dataset) else self._registry.get(other, states=None)
        return target._manifest()

    def diff(self, other: str | Dataset | None = None) -> Diff:
        """Return what changed from ``other`` (default: the merged parents) to this version."""
        return diff_manifests(self._baseline(other), self._manifest())

    def list_added_files(self, other: str | Dataset | None = None) -> list[str]:
        """Paths in this version and not in ``other`` (default: the parents)."""
        d = self.diff(other)
        return sorted([*d.added, *(new for _, new in d.renamed)])

    def list_removed_files(self, other: str | Dataset | None = None) -> list[str]:
        """Paths in ``other`` (default: the parents) and not in this version."""
        d = self.diff(other)
        return sorted([*d.removed, *(old for old, _ in d.renamed)])

    def list_modified_files(self, other: str | Dataset | None = None) -> list[str]:
        """Paths in both whose content differs."""
        return list(self.diff(other).modified)

    def lineage(self) -> dict[str, list[str]]:
        """Return ``{version id: [parent ids]}`` for this version and all its ancestors."""
        return ancestry(self._registry.store, self.id)

    def get_local_copy(self, paths: Sequence[str] | None = None) -> Path:
        """Return a read-only local tree of this version, materialised once in the cache.

        Files are hard links to the cache's blobs (mode 0444): never write through them; use
        :meth:`get_mutable_local_copy` for a writable copy. A second call, from any process,
        checks a marker only (``DATAVER_CACHE_VERIFY=size|hash`` checks every file too).

        Args:
            paths: Globs selecting a subset (``["train/*.jpg"]``), materialised in a folder of
                its own. A glob without ``/`` matches at any depth, one with ``/`` from the
                root; a folder name selects everything under it.

        Returns:
            The folder holding the version's files.

        Raises:
            InvalidTransitionError: The version is not Final or Published.
            IntegrityError: Stored content is corrupt (nothing corrupt is returned).
            ValidationError: A glob is empty.

        Example:
            >>> ds.get_local_copy(paths=["*.csv"])  # doctest: +SKIP
            PosixPath('/home/me/.cache/dataver/versions/3f2a...~9c1e.../')
        """
        self._require(READABLE, "read")
        patterns = _patterns(paths)
        backend = self._registry.backend
        return backend.cache.materialize(
            backend.store, backend.settings, self._manifest(), self.id, patterns, self._label
        )

    def get_mutable_local_copy(
        self,
        target: str | os.PathLike[str],
        overwrite: bool = False,
        paths: Sequence[str] | None = None,
    ) -> Path:
        """Copy this version into ``target``: writable files sharing nothing with the cache.

        Copies are reflinks where the file system can (btrfs, xfs), else byte copies; never
        hard links, so writing to them cannot change the cache or any other copy.

        Args:
            target: The folder to fill (created if missing).
            overwrite: Replace the contents of a non-empty ``target``.
            paths: Globs selecting a subset, as in :meth:`get_local_copy`.

        Returns:
            ``target`` as an absolute path.

        Raises:
            ValidationError: ``target`` exists, is not empty and ``overwrite`` is False, or is
                a file.
        """
        out = Path(target).expanduser().absolute()
        if out.exists() and not out.is_dir():
            raise ValidationError(f"{out} is a file, not a folder", path=str(out))
        if out.exists() and any(out.iterdir()):
            if not overwrite:
                raise ValidationError(
                    f"{out} is not empty; pass overwrite=True to replace its contents",
                    path=str(out),
                )
            shutil.rmtree(out)
        source = self.get_local_copy(paths)
        shutil.copytree(source, out, copy_function=_copy_writable, dirs_exist_ok=True)
        return out

    def open(self, path: str, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
        """Open one file of this version for reading, without materialising the rest.

        The file's content is fetched into the cache once (verified), then read from there.

        Args:
            path: The file's dataset path.
            mode: ``"rb"`` (default) or ``"r"`` for text.
            encoding: Text encoding for ``"r"`` (default UTF-8).

        Returns:
            A file object; close it (or use ``with``).

        Raises:
            NotFoundError: The version has no such file.
            ValidationError: ``mode`` is not a read mode.

        Example:
            >>> with ds.open("train/labels.csv", "r") as f:  # doctest: +SKIP
            ...     header = f.readline()
        """
        if mode not in {"r", "rb", "rt"}:
            raise ValidationError(f"open() reads only: mode must be 'r' or 'rb', got {mode!r}")
        self._require(READABLE, "read")
        entry = self._manifest().get(validate_path(path.strip("/")))
        if entry is None:
            raise NotFoundError(f"version {self.id} has no file {path!r}", path=path)
        backend = self._registry.backend
        blob = backend.cache.fetch_one(
            backend.store, backend.settings, entry, self._record.hash_algorithm
        )
        if mode == "rb":
            return blob.open("rb")
        return blob.open("r", encoding=encoding or "utf-8")

    def verify(self, repair: bool = False) -> list[str]:
        """Re-read every file (registry and cached trees) and return the paths that do not match.

        Args:
            repair: Re-fetch damaged cached files from the registry and rebuild their trees
                (content that is corrupt in the registry itself cannot be repaired).

        Returns:
            The damaged paths found (before any repair); [] when all is sound.

        Raises:
            IntegrityError: ``repair`` was asked but the registry's own copy is corrupt.
        """
        self._require(READABLE | _UPLOADING, "verify")
        backend = self._registry.backend
        manifest = self._manifest()
        found = verify_version(backend, self.id, manifest)
        if repair and found.cache:
            if found.registry:
                raise IntegrityError(
                    f"cannot repair version {self.id}: {len(found.registry)} files are corrupt "
                    f"in the registry itself (first: {found.registry[0]!r})",
                    version_id=self.id,
                    paths=found.registry[:20],
                )
            backend.cache.repair(
                backend.store, backend.settings, manifest, self.id, found.cache, self._label
            )
        return found.paths

    def _label(self) -> TreeLabel:
        return TreeLabel(
            version_id=self.id, dataset=self.name, project=self.project, version=self.version
        )


def _copy_writable(src: str, dst: str) -> str:
    clone_or_copy(src, dst, 0o644)
    return dst


def _patterns(paths: Sequence[str] | None) -> list[str] | None:
    if paths is None:
        return None
    if isinstance(paths, str):
        paths = [paths]
    chosen = list(paths)
    if not chosen or any(not isinstance(p, str) or not p.strip("/") for p in chosen):
        raise ValidationError(f"paths must be non-empty globs, got {list(paths)!r}")
    return chosen


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from dataver.api.registry import Registry

    return Registry()
