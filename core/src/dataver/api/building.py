"""Building an Uploading version: add, remove, sync, upload, finalize; ending it; annotations."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from dataver.api.handle import VersionHandle
from dataver.api.inputs import inputs as _inputs
from dataver.api.inputs import local_inputs
from dataver.api.inputs import within as _within
from dataver.api.writer import Writer
from dataver.errors import ConflictError, DataverError, ValidationError
from dataver.gcpause import paused_gc
from dataver.manifest.reader import Manifest
from dataver.ops import change, contribute, externalize, gather, lease, seal
from dataver.ops import transition as tr
from dataver.versions.records import check_metadata, check_tags, utcnow
from dataver.versions.state import State

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from dataver.manifest.entry import Entry
    from dataver.ops.gather import OnConflict
    from dataver.partitioning import Part
    from dataver.policies import Symlinks
    from dataver.versions.records import VersionRecord, WriterRecord

_UPLOADING = frozenset({State.UPLOADING})
_EDITABLE = frozenset({State.UPLOADING, State.FINAL})


class Building(VersionHandle):
    """The operations that change a version (see :class:`~dataver.api.dataset.Dataset`)."""

    # ------------------------------------------------------------------ building
    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Stage the changes made inside the block together, when it ends: all or nothing.

        :meth:`add_files`, :meth:`add_external_files`, :meth:`remove_files` and
        :meth:`sync_folder` called inside see each other's changes, but the version records
        none of them until the block ends without an error. An error (or Ctrl-C) inside
        leaves the version exactly as it was. Upload and finalize after the block.

        Example:
            >>> with ds.batch():  # doctest: +SKIP
            ...     ds.add_files(["data/", "labels.csv"])
            ...     ds.add_external_files("s3://bucket/raw/", dataset_path="raw")
        """
        self._require(_UPLOADING, "add files to")
        if self._batch is not None:
            yield  # NOTE: nested: the outer block stages everything
            return
        self._batch = {}
        try:
            yield
            changes = self._batch
        finally:
            self._batch = None
        with paused_gc():
            self._apply(changes)

    def add_files(
        self,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        dataset_path: str = "",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
        *,
        symlinks: Symlinks = "refuse",
        writer: str | None = None,
        part: Part | Mapping[str, Any] | None = None,
    ) -> int:
        """Add files, or folders' files, to this Uploading version: all of them, or none.

        A folder's contents are added relative to the folder, under ``dataset_path``; a file
        is added by its name under ``dataset_path``. Unchanged files are detected by hash
        (a stat cache avoids re-reading files whose size, mtime and inode did not change).

        Several paths are one change: every one is checked to exist before a file is read,
        and all are scanned and hashed before anything is staged, so a missing, unreadable
        or refused input adds nothing at all. Where two of them give the same dataset path,
        the later one wins.

        Symbolic links inside the folder that lead to files inside it are stored as those
        files' content; links to folders inside it, dangling links and loops are left out.
        A path named here is followed even if it is a link (docs/concepts.md, "Symbolic
        links").

        Args:
            path: A local file or folder, or a list of them.
            dataset_path: Folder inside the dataset ("" for the root).
            wildcard: Glob(s) selecting files (matched at any depth, e.g. ``"*.jpg"``).
            recursive: Descend into sub-folders.
            symlinks: Links that lead outside the folder: ``"refuse"`` (the default: raise
                before anything is added), ``"follow"`` (add what they lead to; a folder
                is descended, loops are not) or ``"skip"`` (leave them out).
            writer: Add them as this named writer, one of many building the version at
                once: the call is that writer's whole contribution, stored and committed
                before it returns; calling again with the same name (a retry) replaces it
                (see :meth:`writer` and docs/scale.md).
            part: Take only the files of this part of the folder (one item of
                :func:`dataver.partition`'s result, or its ``to_dict()``).

        Returns:
            How many files were added or changed.

        Raises:
            InvalidTransitionError: The version is not Uploading.
            NotFoundError: A path does not exist (all missing ones are named).
            ValidationError: With ``symlinks="refuse"``, links lead outside the folder
                (named in the message; all of them in the ``links`` field).
            UnsafePathError: A resulting dataset path is unsafe.

        Example:
            >>> ds.add_files("data/", dataset_path="train")  # doctest: +SKIP
            3
            >>> ds.add_files(["photos/", "labels.csv"])  # doctest: +SKIP
            42
        """
        if writer is not None:
            with self.writer(writer) as one:
                return one.add_files(
                    path, dataset_path, wildcard, recursive, symlinks=symlinks, part=part
                )
        self._require(_UPLOADING, "add files to")
        within = _within(part)
        paths = local_inputs(path)  # NOTE: every input is checked before a file is read
        added: dict[str, Entry | None] = {}
        with paused_gc(), self.batch():  # NOTE: bulk tuples and lists (see dataver.gcpause)
            for one in paths:
                changes, _ = change.add_files(
                    self._backend,
                    self._manifest(),
                    one,
                    dataset_path=dataset_path,
                    wildcard=wildcard,
                    recursive=recursive,
                    symlinks=symlinks,
                    within=within,
                )
                added.update(changes)
                self._apply(changes)
        return len(added)

    def add_external_files(
        self,
        url: str | Sequence[str],
        dataset_path: str = "",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
        *,
        writer: str | None = None,
        part: Part | Mapping[str, Any] | None = None,
    ) -> int:
        """Add links to files that stay where they are (any fsspec URL, e.g. ``file://``).

        Nothing is uploaded; :meth:`get_local_copy` fetches them. Each link records its size,
        and its hash when the bytes can be read cheaply (local files). Several URLs are one
        change, as in :meth:`add_files`: one that is not found adds nothing. ``writer`` and
        ``part`` are as for :meth:`add_files` (``part`` applies to paths below the URL).

        Returns:
            How many links were added or changed.
        """
        if writer is not None:
            with self.writer(writer) as one:
                return one.add_external_files(url, dataset_path, wildcard, recursive, part=part)
        self._require(_UPLOADING, "add links to")
        within = _within(part)
        added: dict[str, Entry | None] = {}
        with self.batch():
            for one in _inputs(url, "url"):
                changes, _ = change.add_external_files(
                    self._manifest(),
                    os.fspath(one),
                    dataset_path=dataset_path,
                    wildcard=wildcard,
                    recursive=recursive,
                    within=within,
                )
                added.update(changes)
                self._apply(changes)
        return len(added)

    def remove_files(
        self, pattern: str, recursive: bool = True, *, writer: str | None = None
    ) -> int:
        """Remove files matching a glob (a folder name removes the folder's files).

        ``*.csv`` matches at any depth only with ``recursive=True``. With ``writer``, the
        removal is that writer's whole contribution (see :meth:`add_files`).

        Returns:
            How many files were removed (0 if nothing matched).
        """
        if writer is not None:
            with self.writer(writer) as one:
                return one.remove_files(pattern, recursive)
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
        writer: str | None = None,
        part: Part | Mapping[str, Any] | None = None,
    ) -> tuple[int, int, int]:
        """Make ``dataset_path`` mirror a local folder: remove, add and replace files.

        External links under ``dataset_path`` are kept. Symbolic links are treated as by
        :meth:`add_files`; a file the policy leaves out is removed like a missing one.

        Args:
            local_path: The local folder.
            dataset_path: The part of the dataset that mirrors it ("" for the root).
            symlinks: Links that lead outside the folder: ``"refuse"`` (default),
                ``"follow"`` or ``"skip"`` (see :meth:`add_files`).
            writer: Sync as this named writer (see :meth:`add_files`).
            part: Mirror only this part of the folder (:func:`dataver.partition`): files of
                the version outside it are left alone, so N writers may each sync one part.

        Returns:
            ``(removed, added, modified)``.

        Raises:
            ValidationError: With ``symlinks="refuse"``, links lead outside the folder.
        """
        if writer is not None:
            with self.writer(writer) as one:
                return one.sync_folder(local_path, dataset_path, symlinks=symlinks, part=part)
        self._require(_UPLOADING, "sync")
        found = self._compare_folder(local_path, dataset_path, symlinks, _within(part))
        self._apply_folder(found)
        return found.counts.removed, found.counts.added, found.counts.modified

    def _compare_folder(
        self,
        local_path: str | os.PathLike[str],
        dataset_path: str,
        symlinks: Symlinks,
        within: change.Within | None = None,
    ) -> change.SyncFound:
        """What a sync of the folder would change in this version (any state); writes nothing."""
        with paused_gc():  # NOTE: bulk tuples and lists, no cycles (see dataver.gcpause)
            return change.sync_folder(
                self._backend,
                self._manifest(),
                local_path,
                dataset_path=dataset_path,
                symlinks=symlinks,
                within=within,
            )

    def _apply_folder(self, found: change.SyncFound) -> None:
        """Apply a sync found against this version's content (or its parent's, the same)."""
        self._require(_UPLOADING, "sync")
        with paused_gc():
            self._apply(found.changes)
        self._remember_folder(found)

    def _remember_folder(self, found: change.SyncFound) -> None:
        """Remember that this version mirrors the folder as scanned (the next no-change
        sync then reads no entry)."""
        if found.mark is not None:
            change.remember_sync(self._backend, found.mark, self._manifest())

    def _outside_batch(self, action: str) -> None:
        if self._batch is not None:
            raise ValidationError(
                f"cannot {action} version {self.id} inside batch(): its changes are not "
                f"staged yet; {action} after the block",
                version_id=self.id,
            )

    def writer(self, name: str, max_workers: int | None = None) -> Writer:
        """One of many workers building this version at once, named ``name``.

        Use it as a context manager: its changes are stored and committed, as a whole, when
        the block ends without an error; :meth:`finalize` merges every writer's committed
        work. Writers never conflict with each other while they work (each writes only its
        own record); paths two writers gave different content are reported by finalize.

        Args:
            name: Stable for the worker: a retry with the same name replaces the earlier
                attempt's contribution (e.g. ``"dag/run/task/3"``, a Prefect task run name).
            max_workers: Parallel transfers of its upload (default ``DATAVER_MAX_WORKERS``).

        Raises:
            ValidationError: The name is empty, too long or holds control characters.

        Example:
            >>> with ds.writer("part-3") as w:  # doctest: +SKIP
            ...     w.add_files("/data", part=parts[3])
        """
        self._require(_UPLOADING, "add files to")
        return Writer(self, name, max_workers)

    def writers(self) -> list[WriterRecord]:
        """The writer records of this version: who committed what, who is at work."""
        return sorted(
            (r for r, _, _ in contribute.list_writers(self._backend.store, self.id)),
            key=lambda r: r.name,
        )

    def upload(self, max_workers: int | None = None, *, external_url: str | None = None) -> int:
        """Store the content added since the last upload; only bytes the registry lacks.

        Resumable: after a crash, calling it again sends only what is missing.

        Args:
            max_workers: Parallel transfers (default ``DATAVER_MAX_WORKERS``).
            external_url: Store the pending files outside the registry instead: each one as
                its own object at ``<external_url>/<dataset path>`` (a folder, ``s3://`` or
                any fsspec URL), and make their entries external links to those objects.
                Their size and hash are kept, so a read still checks every byte.

        Returns:
            Bytes newly stored by this call.

        Raises:
            ValidationError: Called inside :meth:`batch` (its changes are not staged yet), or
                ``external_url`` is inside the registry.
            IntegrityError: With ``external_url``, a file changed since it was added.
        """
        self._require(_UPLOADING, "upload")
        self._outside_batch("upload")
        if max_workers is not None and max_workers < 1:
            raise ValidationError(f"max_workers must be >= 1, got {max_workers}")
        if external_url is not None:
            return self._store_outside(external_url, max_workers)
        update, stored = self._store_pending(max_workers)
        if update is not None:
            self._swap(lambda r: tr.renew_record(self._backend, r).model_copy(update=update(r)))
        return stored

    def _store_outside(self, url: str, max_workers: int | None) -> int:
        """Copy pending files to ``url`` and link them, the lease kept alive meanwhile."""
        with self._leased():
            links = externalize.externalize(self._backend, self._record, url, max_workers)
        self._apply(links)
        return sum(e.size for e in links.values() if e is not None)

    def _store_pending(
        self, max_workers: int | None
    ) -> tuple[Callable[[VersionRecord], dict[str, Any]] | None, int]:
        """Store pending content while the lease is kept alive; see :func:`seal.store_pending`."""
        with self._leased():
            return seal.store_pending(self._backend, self._record, max_workers)

    @contextlib.contextmanager
    def _leased(self) -> Iterator[None]:
        """Keep renewing this writer's lease while the block stores content."""

        def renew() -> None:
            self._swap(lambda r: tr.renew_record(self._backend, r))

        interval = self._backend.settings.lease_seconds / 3
        with lease.heartbeat(renew, interval, name=f"dataver-lease-{self.id[:8]}"):
            yield

    def finalize(
        self,
        auto_upload: bool = False,
        *,
        on_conflict: OnConflict = "error",
        wait_for_writers: float = 0.0,
    ) -> None:
        """Seal the version: state Final, content immutable, usable as a parent.

        The content is the version's own changes plus every writer's committed contribution
        (:meth:`writer`), merged in one pass. While finalize gathers them the version is
        *closing*: no writer can start.

        Args:
            auto_upload: Upload pending content first instead of refusing.
            on_conflict: Two writers gave a path different content: ``"error"`` (refuse,
                naming the paths and writers) or ``"writer-order"`` (keep the content of
                the writer whose name sorts last).
            wait_for_writers: Seconds to wait for writers still at work (0: refuse at once).
                A killed writer stops counting once its lease expires.

        Raises:
            PendingUploadError: Content is pending and ``auto_upload`` is False.
            InvalidTransitionError: The version is not Uploading.
            WritersActiveError: Writers are still at work (after ``wait_for_writers``).
            ConflictError: Another writer changed (e.g. finalized) the version first, or
                writers gave paths different content (``on_conflict="error"``).
        """
        self._require(_UPLOADING, "finalize")
        self._outside_batch("finalize")
        policy = gather.check_on_conflict(on_conflict)
        if wait_for_writers < 0:
            raise ValidationError(f"wait_for_writers must be >= 0, got {wait_for_writers}")
        backend = self._backend
        update: Callable[[VersionRecord], dict[str, Any]] | None = None
        if auto_upload and self._manifest().root.pending:
            # NOTE: the upload's manifest and the Final state go in one record swap.
            update, _ = self._store_pending(None)
        elif self._record.staged is not None:
            # NOTE: pending files among them: finalize_record refuses
            update = seal.unstage(self._backend, self._record)
        with self._closing():
            done = gather.gather(backend.store, self.id, wait=wait_for_writers)
            own = update(self._record) if update is not None else {}
            if done:
                record = self._record.model_copy(update=own)
                with paused_gc():
                    merged = gather.merge(self._content_of(record), done, policy)
                own = {**own, "manifest": merged, "staged": None}
            self._swap(
                lambda r: tr.finalize_record(backend, r.model_copy(update={**own, "closing": None}))
            )
        tr.after_final(backend, self._record)

    def _content_of(self, record: VersionRecord) -> Manifest:
        return Manifest(self._backend.store, record.manifest, record.hash_algorithm)

    @contextlib.contextmanager
    def _closing(self) -> Iterator[None]:
        """Mark the version closing (no writer may start) while the block gathers their work.

        The mark is a lease, renewed while the block makes progress: a finalize that dies
        leaves it to expire. An error inside removes it; a mark this process left (its
        removal failed too, e.g. out of retries) is taken over by its next finalize.
        """
        backend = self._backend
        me = tr.make_lease(backend.settings.lease_seconds).owner

        def close(r: VersionRecord) -> VersionRecord:
            held = r.closing
            if held is not None and held.expires_at > utcnow() and held.owner != me:
                raise ConflictError(
                    f"version {r.id} is being finalized by another process",
                    version_id=r.id,
                )
            renewed = tr.renew_record(backend, r)
            return renewed.model_copy(
                update={"closing": tr.make_lease(backend.settings.lease_seconds)}
            )

        def mark(r: VersionRecord) -> VersionRecord:
            if r.state is not State.UPLOADING:
                # NOTE: a beat late by a hair, after finalize's own swap: renewing now would
                # put the mark back on the Final record, where it would stay.
                raise _Ended
            return r.model_copy(update={"closing": tr.make_lease(backend.settings.lease_seconds)})

        def renew() -> None:
            with contextlib.suppress(_Ended):
                self._swap(mark)

        self._swap(close)
        try:
            interval = backend.settings.lease_seconds / 3
            with lease.heartbeat(renew, interval, name=f"dataver-closing-{self.id[:8]}"):
                yield
        except BaseException:
            with contextlib.suppress(DataverError):
                if self._record.state is State.UPLOADING:
                    self._swap(lambda r: r.model_copy(update={"closing": None}))
            raise

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
        tr.after_final(self._backend, self._record)

    def fail(self, reason: str) -> None:
        """Mark an Uploading version Failed, recording why."""
        self._require(_UPLOADING, "fail")
        self._swap(lambda r: tr.end_record(r, State.FAILED, str(reason)))
        tr.after_final(self._backend, self._record)

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


class _Ended(Exception):  # noqa: N818 - a signal between two local functions, not an error
    """The version left Uploading: a closing mark's renewal has nothing to renew."""
