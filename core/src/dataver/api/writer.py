"""One of many workers building the same Uploading version: :class:`Writer`."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from dataver.api.inputs import inputs, local_inputs, within
from dataver.gcpause import paused_gc
from dataver.layout import writer_journal
from dataver.manifest import staged
from dataver.manifest.reader import Manifest
from dataver.objects.upload import journal_stored_bytes, upload_pending
from dataver.ops import contribute, lease, pieces
from dataver.ops.runs import CHANGE_SET, Runs
from dataver.versions.records import Contribution, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from types import TracebackType

    from dataver.api.building import Building
    from dataver.manifest.entry import Entry
    from dataver.partitioning import Part
    from dataver.policies import Symlinks

__all__ = ["CHANGE_SET", "Writer"]


class Writer:
    """One named worker's share of an Uploading version, committed as a whole.

    Any number of processes, on any machines, may each hold a writer of the same version
    at once: each writes only its own record and content, so none fails because another
    wrote. What a writer adds, syncs or removes is its *contribution*; it becomes part of
    the version when the ``with`` block ends without an error (:meth:`commit`), and
    ``finalize`` merges every committed contribution in one pass.

    A writer is known by its name. A second attempt of the same name (a retried task)
    replaces the first one's contribution when it commits; it never adds to it. An
    attempt that fails, is interrupted or is killed leaves the last committed contribution
    as it was.

    Memory stays bounded, whatever the number of files (docs/scale.md, "Limits"): a folder
    is walked, hashed and compared a piece at a time, and once the writer holds 65,536
    changes (:data:`dataver.ops.runs.SLICE`) their content is uploaded and they are stored
    as change sets, which later calls read back where they look. A call that fails leaves
    the writer's earlier changes as they were.

    Get one with :meth:`Dataset.writer <dataver.api.building.Building.writer>`.

    Example:
        >>> with ds.writer("worker-3") as w:  # doctest: +SKIP
        ...     w.add_files("/data/part3", dataset_path="part3")
        1000
    """

    def __init__(self, version: Building, name: str, max_workers: int | None = None) -> None:
        self._version = version
        self._name = contribute.check_name(name)
        self._max_workers = max_workers
        self._attempt: contribute.Attempt | None = None
        self._runs: Runs | None = None
        self._journal = ""
        self._committed: Contribution | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def contribution(self) -> Contribution | None:
        """What :meth:`commit` recorded (None before)."""
        return self._committed

    def __enter__(self) -> Writer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.release()

    def start(self) -> None:
        """Start this attempt: the version must be Uploading and not being finalized.

        Raises:
            InvalidTransitionError: The version is not Uploading.
            ConflictError: The version is being finalized.
        """
        if self._attempt is not None:
            return
        version = self._version
        backend = version._backend
        with paused_gc():
            self._attempt = contribute.start(backend, version.id, self._name)
        record = version.reload().record
        store = backend.store
        settings = backend.settings
        if self._max_workers is not None:
            settings = settings.model_copy(update={"max_workers": self._max_workers})
        content = staged.view(store, record.manifest, record.staged, record.hash_algorithm)
        base = Manifest(store, record.base_manifest, record.hash_algorithm)
        journal = writer_journal(record.id, self._attempt.slot)

        def upload(pending: list[Entry]) -> dict[str, Entry]:
            return upload_pending(
                store,
                settings,
                version_id=journal,
                pending=pending,
                search=[content, base],
                stat_cache=backend.stat_cache,
            ).located

        self._journal = journal
        self._runs = Runs(store, content, upload)

    # ------------------------------------------------------------------ changes
    def add_files(
        self,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        dataset_path: str = "",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
        *,
        symlinks: Symlinks = "refuse",
        part: Part | Mapping[str, Any] | None = None,
    ) -> int:
        """Add files to this writer's contribution (see :meth:`Dataset.add_files`).

        Args:
            part: Take only the files of this part of the folder (:func:`dataver.partition`).

        Returns:
            How many files it adds or changes (a path two of several inputs give counts
            twice).
        """
        test = within(part)
        paths = local_inputs(path)
        with self._call() as runs:
            backend = self._version._backend
            return sum(
                pieces.add_files(
                    backend,
                    runs,
                    one,
                    dataset_path=dataset_path,
                    wildcard=wildcard,
                    recursive=recursive,
                    symlinks=symlinks,
                    within=test,
                )
                for one in paths
            )

    def add_external_files(
        self,
        url: str | Sequence[str],
        dataset_path: str = "",
        wildcard: str | list[str] | None = None,
        recursive: bool = True,
        *,
        part: Part | Mapping[str, Any] | None = None,
    ) -> int:
        """Add links to this writer's contribution (see :meth:`Dataset.add_external_files`)."""
        test = within(part)
        urls = inputs(url, "url")
        with self._call() as runs:
            return sum(
                pieces.add_external_files(
                    runs,
                    os.fspath(one),
                    dataset_path=dataset_path,
                    wildcard=wildcard,
                    recursive=recursive,
                    within=test,
                )
                for one in urls
            )

    def remove_files(self, pattern: str, recursive: bool = True) -> int:
        """Remove files matching a glob, as part of this writer's contribution."""
        with self._call() as runs:
            return pieces.remove_files(runs, pattern, recursive=recursive)

    def sync_folder(
        self,
        local_path: str | os.PathLike[str],
        dataset_path: str = "",
        *,
        symlinks: Symlinks = "refuse",
        part: Part | Mapping[str, Any] | None = None,
    ) -> tuple[int, int, int]:
        """Make ``dataset_path`` (or, with ``part``, that part of it) mirror a local folder.

        With ``part``, files of the version outside the part are not this writer's: they are
        neither removed nor compared. Returns ``(removed, added, modified)``.
        """
        test = within(part)
        with self._call() as runs:
            counts = pieces.sync_folder(
                self._version._backend,
                runs,
                local_path,
                dataset_path=dataset_path,
                symlinks=symlinks,
                within=test,
            )
        return counts.removed, counts.added, counts.modified

    @contextlib.contextmanager
    def _call(self) -> Iterator[Runs]:
        """One call's work: the lease kept alive (it may upload), bulk objects without the
        cyclic collector; on an error, the writer's changes as they were before the call."""
        runs = self._open()
        mark = runs.mark()
        try:
            with paused_gc(), self._heartbeat():
                yield runs
        except BaseException:
            runs.restore(mark)
            raise

    @contextlib.contextmanager
    def _heartbeat(self) -> Iterator[None]:
        attempt = self._attempt
        assert attempt is not None  # noqa: S101 - started by _open()
        backend = self._version._backend
        with lease.heartbeat(
            lambda: contribute.renew(backend, attempt),
            backend.settings.lease_seconds / 3,
            name=f"dataver-writer-{attempt.slot[:8]}",
        ):
            yield

    # ------------------------------------------------------------------ ending
    def commit(self) -> Contribution:
        """Store this writer's content and record its contribution (replacing the last one).

        Returns:
            What was recorded: change sets, files, bytes stored.

        Raises:
            ConflictError: Another attempt of the same writer took over, or finalize set this
                one aside after its lease expired: nothing of this attempt counts.
        """
        runs = self._open()
        attempt = self._attempt
        assert attempt is not None  # noqa: S101 - started by _open()
        store = self._version._backend.store
        try:
            with self._heartbeat(), paused_gc():
                settled = runs.settle()
                contribution = Contribution(
                    attempt=attempt.record.attempt or "",
                    changes=settled.refs,
                    files=settled.files,
                    removed=settled.removed,
                    bytes=settled.bytes,
                    stored_bytes=journal_stored_bytes(store, self._journal),
                    committed_at=utcnow(),
                )
            contribute.commit(store, attempt, contribution)
        except BaseException:
            contribute.release(store, attempt)
            self._attempt = self._runs = None
            raise
        self._attempt = self._runs = None
        self._committed = contribution
        return contribution

    def release(self) -> None:
        """End this attempt without committing: the last committed contribution stays."""
        if self._attempt is not None:
            contribute.release(self._version._backend.store, self._attempt)
        self._attempt = self._runs = None

    def _open(self) -> Runs:
        if self._runs is None:
            self.start()
        assert self._runs is not None  # noqa: S101 - start() made it
        return self._runs
