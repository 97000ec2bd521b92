"""One of many workers building the same Uploading version: :class:`Writer`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataver.errors import ValidationError
from dataver.gcpause import paused_gc
from dataver.layout import writer_journal
from dataver.manifest import staged
from dataver.manifest.reader import Manifest
from dataver.objects.upload import journal_stored_bytes, upload_pending
from dataver.ops import contribute, lease
from dataver.versions.records import Contribution, utcnow
from dataver.workers import each

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator, Mapping, Sequence
    from types import TracebackType

    from dataver.api.building import Building
    from dataver.manifest.entry import Entry
    from dataver.partitioning import Part
    from dataver.scan import Symlinks
    from dataver.storage.base import Store

CHANGE_SET = 2048
"""Changes per stored change set of a contribution: finalize holds one set per writer."""


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
        self._view: Building | None = None
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
        with paused_gc():
            self._attempt = contribute.start(version._backend, version.id, self._name)
        view = type(version)(version.registry, version.reload().record, None)
        # NOTE: a batch that never ends: every call below adds to it; commit stores it.
        view._batch = {}
        self._view = view

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
            How many files it adds or changes.
        """
        return self._open().add_files(
            path, dataset_path, wildcard, recursive, symlinks=symlinks, part=part
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
        return self._open().add_external_files(url, dataset_path, wildcard, recursive, part=part)

    def remove_files(self, pattern: str, recursive: bool = True) -> int:
        """Remove files matching a glob, as part of this writer's contribution."""
        return self._open().remove_files(pattern, recursive)

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
        return self._open().sync_folder(local_path, dataset_path, symlinks=symlinks, part=part)

    # ------------------------------------------------------------------ ending
    def commit(self) -> Contribution:
        """Store this writer's content and record its contribution (replacing the last one).

        Returns:
            What was recorded: change sets, files, bytes stored.

        Raises:
            ConflictError: Another attempt of the same writer took over, or finalize set this
                one aside after its lease expired: nothing of this attempt counts.
        """
        view, attempt = self._started()
        backend = view._backend
        changes = view._batch or {}
        interval = backend.settings.lease_seconds / 3
        try:
            with lease.heartbeat(
                lambda: contribute.renew(backend, attempt),
                interval,
                name=f"dataver-writer-{attempt.slot[:8]}",
            ):
                contribution = self._store(view, attempt, changes)
            contribute.commit(backend.store, attempt, contribution)
        except BaseException:
            contribute.release(backend.store, attempt)
            self._attempt = self._view = None
            raise
        self._attempt = self._view = None
        self._committed = contribution
        return contribution

    def release(self) -> None:
        """End this attempt without committing: the last committed contribution stays."""
        if self._attempt is not None:
            contribute.release(self._version._backend.store, self._attempt)
        self._attempt = self._view = None

    def _open(self) -> Building:
        return self._started()[0]

    def _started(self) -> tuple[Building, contribute.Attempt]:
        if self._view is None or self._attempt is None:
            self.start()
        if self._view is None or self._attempt is None:  # NOTE: start() sets both or raises
            raise RuntimeError("writer did not start")
        return self._view, self._attempt

    def _store(
        self, view: Building, attempt: contribute.Attempt, changes: dict[str, Entry | None]
    ) -> Contribution:
        backend = view._backend
        store = backend.store
        record = view.record
        settings = backend.settings
        if self._max_workers is not None:
            settings = settings.model_copy(update={"max_workers": self._max_workers})
        journal = writer_journal(record.id, attempt.slot)
        with paused_gc():
            content = staged.view(store, record.manifest, record.staged, record.hash_algorithm)
            base = Manifest(store, record.base_manifest, record.hash_algorithm)
            pending = [e for e in changes.values() if e is not None and e.is_pending]
            located = upload_pending(
                store,
                settings,
                version_id=journal,
                pending=pending,
                search=[content, base],
                stat_cache=backend.stat_cache,
            ).located
            refs = list(_change_sets(store, changes, located))
        added = [e for e in changes.values() if e is not None]
        return Contribution(
            attempt=attempt.record.attempt or "",
            changes=tuple(refs),
            files=len(added),
            removed=len(changes) - len(added),
            bytes=sum(e.size for e in added),
            stored_bytes=journal_stored_bytes(store, journal),
            committed_at=utcnow(),
        )


def _change_sets(
    store: Store, changes: dict[str, Entry | None], located: dict[str, Entry]
) -> Iterator[str]:
    """Store the changes as change sets of ascending, disjoint path ranges (written in
    parallel: on S3 each is a round trip)."""
    paths = sorted(changes)
    slices = [paths[at : at + CHANGE_SET] for at in range(0, len(paths), CHANGE_SET)]
    written = each(lambda some: list(_write_set(store, some, changes, located)), slices)
    for refs in written:
        yield from refs


def _write_set(
    store: Store, paths: list[str], changes: dict[str, Entry | None], located: dict[str, Entry]
) -> Iterator[str]:
    chunk = {p: located.get(p, changes[p]) for p in paths}
    ref = staged.write_changes(store, chunk)
    if ref is not None:
        yield ref
        return
    if len(paths) == 1:  # NOTE: write_changes refuses only sets readers could not take
        raise ValidationError(f"path too long to store: {paths[0][:80]!r}...", path=paths[0])
    half = len(paths) // 2
    yield from _write_set(store, paths[:half], changes, located)
    yield from _write_set(store, paths[half:], changes, located)
