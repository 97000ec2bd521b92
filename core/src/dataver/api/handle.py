"""What every view of a version shares: its record, its identity, and compare-and-swaps on it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

from dataver.errors import ConflictError, VersionNotFoundError
from dataver.manifest import staged
from dataver.manifest.merge import apply_changes
from dataver.manifest.reader import Manifest
from dataver.ops import transition as tr
from dataver.storage.overlay import MemoryOverlay
from dataver.versions import repo
from dataver.versions.state import State, require

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from dataver.api.registry import Registry
    from dataver.backend import Backend
    from dataver.manifest.entry import Entry
    from dataver.versions.records import DatasetRecord, Stats, VersionRecord

_H = TypeVar("_H", bound="VersionHandle")


class VersionHandle:
    """One version of a dataset, as a record this object last read or wrote.

    The building and reading operations are in :class:`~dataver.api.building.Building` and
    :class:`~dataver.api.reading.Reading`; :class:`~dataver.api.dataset.Dataset` is both.
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
        self._backend: Backend = registry.backend
        self._record = record
        self._token = token
        self._dataset = dataset
        self._lock = threading.RLock()
        self._batch: dict[str, Entry | None] | None = None

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
            self._dataset = repo.load_dataset(self._backend.store, self._record.dataset_id)
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
        return isinstance(other, VersionHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def reload(self: _H) -> _H:
        """Re-read the record from the registry; returns self."""
        with self._lock:
            self._record, self._token = repo.load(self._backend.store, self.id)
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
            store = self._backend.store
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
                    ) from None
                raise self._stale_error(current) from None

    def _stale_error(self, current: VersionRecord) -> ConflictError:
        if current.closing is not None and self._record.closing is None:
            # NOTE: two finalize calls race: the loser may meet the winner's closing mark
            # rather than its Final state, depending on timing.
            return ConflictError(
                f"version {self.id} is being finalized by another process; reload() it to "
                "see the outcome",
                version_id=self.id,
                state=current.state.value,
            )
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
        """This version's content (staged changes applied, in memory; and, inside
        :meth:`~dataver.api.building.Building.batch`, the batch's changes too)."""
        record = self._record
        store = self._backend.store
        if not self._batch:
            return staged.view(store, record.manifest, record.staged, record.hash_algorithm)
        overlay = MemoryOverlay(store)
        changes = staged.read_changes(store, record.staged)
        changes.update(self._batch)
        ref = apply_changes(Manifest(overlay, record.manifest, record.hash_algorithm), changes)
        return Manifest(overlay, ref, record.hash_algorithm)

    def _base(self) -> Manifest:
        return Manifest(
            self._backend.store, self._record.base_manifest, self._record.hash_algorithm
        )

    def _apply(self, changes: dict[str, Entry | None]) -> None:
        """Stage ``changes`` (inside a batch: keep them for its end)."""
        if not changes:
            return
        if self._batch is not None:
            self._batch.update(changes)
            return
        record = self._record
        store = self._backend.store
        manifest, staged_ref = staged.stage(
            store, record.manifest, record.staged, record.hash_algorithm, changes
        )
        # NOTE: what the version holds so far, so that lists and tables show an Uploading
        # version's files and size (finalize computes every figure again).
        root = staged.view(store, manifest, staged_ref, record.hash_algorithm).root
        held = {"files": root.files, "logical_bytes": root.bytes, "links": root.links}

        def update(r: VersionRecord) -> VersionRecord:
            renewed = tr.renew_record(self._backend, r)
            stats = renewed.stats.model_copy(update=held)
            return renewed.model_copy(
                update={"manifest": manifest, "staged": staged_ref, "stats": stats}
            )

        self._swap(update)
