"""The pipeline steps every front end wraps: version a folder, resume a retried step's version.

Airflow operators, Prefect tasks and the ``dataver sync`` command are thin wrappers over
these, so they give the same answers: what an unchanged folder makes (one policy,
:data:`Unchanged`, default ``"reuse"``), how a retried step finds the version its failed try
left (a *resume key* in the version's provenance), and what a failure leaves behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dataver.errors import DataverError, NotFoundError, ValidationError
from dataver.gcpause import paused_gc
from dataver.manifest.reader import Manifest
from dataver.ops import change
from dataver.policies import UNCHANGED_POLICIES, Unchanged, check_symlinks
from dataver.versions import semver
from dataver.versions.records import same_name
from dataver.versions.state import State

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.api.dataset import Dataset
    from dataver.api.parents import Parents
    from dataver.api.registry import Registry
    from dataver.policies import Symlinks

Outcome = Literal["built", "resumed", "reused", "skipped"]
RESUMABLE = (State.UPLOADING, State.FINAL, State.PUBLISHED)
"""States in which a retried step finds its version: Uploading is continued, Final and
Published (the try got that far, then failed) are taken as they are."""


@dataclass(frozen=True)
class FolderVersion:
    """What :meth:`~dataver.Registry.version_folder` did.

    Attributes:
        dataset: The version that now mirrors the folder: built, resumed, or the parent
            (``"reused"``); None when ``"skipped"``.
        outcome: ``"built"`` (a new version), ``"resumed"`` (the version an earlier try with
            the same resume key left), ``"reused"`` or ``"skipped"`` (the folder is unchanged).
        parent: The version the folder was compared with, if any.
        removed: Files the sync removed.
        added: Files the sync added.
        modified: Files the sync replaced.
        stored_bytes: Bytes newly stored in the registry.
    """

    dataset: Dataset | None
    outcome: Outcome
    parent: str | None = None
    removed: int = 0
    added: int = 0
    modified: int = 0
    stored_bytes: int = 0

    @property
    def changed(self) -> bool:
        """Whether the folder differed from the parent (a version was built from changes)."""
        return bool(self.removed or self.added or self.modified)


@dataclass(frozen=True)
class _Request:
    """One call's arguments, checked (:meth:`checked`) before anything is read or written."""

    name: str
    project: str
    folder: str
    dataset_path: str
    unchanged: Unchanged
    symlinks: Symlinks
    version: str | None
    publish: bool
    finalize: bool
    keep_on_error: bool
    max_workers: int | None
    allow_empty: bool
    create_args: dict[str, Any]

    def checked(self) -> _Request:
        """Refuse what no retry can fix, before a version exists to be left behind.

        Raises:
            ValidationError: An unknown policy, publish without finalize, bad max_workers,
                an empty folder (unless ``allow_empty``).
            NotFoundError: The folder is not a folder.
        """
        if self.unchanged not in UNCHANGED_POLICIES:
            raise ValidationError(
                f"unchanged must be 'reuse', 'new' or 'skip', got {self.unchanged!r}",
                unchanged=self.unchanged,
            )
        check_symlinks(self.symlinks)
        if self.publish and not self.finalize:
            raise ValidationError("publish=True needs finalize=True (only Final versions publish)")
        if self.max_workers is not None and self.max_workers < 1:
            raise ValidationError(f"max_workers must be >= 1, got {self.max_workers}")
        if not os.path.isdir(self.folder):
            # NOTE: checked first, so a missing export leaves no version behind at all.
            what = "is not a folder" if os.path.exists(self.folder) else "does not exist"
            raise NotFoundError(
                f"{self.folder} {what}: no version of {self.project}/{self.name} was created",
                path=self.folder,
            )
        if not self.allow_empty and not holds_a_file(self.folder):
            # NOTE: an export that produced nothing is a failed export far more often than an
            # empty dataset; versioned, it would also remove every file of the parent.
            raise ValidationError(
                f"{self.folder} holds no files: no version of {self.project}/{self.name} was "
                "created; pass allow_empty=True to version an empty folder",
                path=self.folder,
                empty=True,
            )
        return self


def holds_a_file(folder: str | os.PathLike[str]) -> bool:
    """Whether anything but folders is below ``folder`` (stops at the first file found)."""
    return any(files for _, _, files in os.walk(folder))


def version_folder(
    registry: Registry,
    name: str,
    folder: str | os.PathLike[str],
    project: str,
    *,
    dataset_path: str,
    parents: Parents,
    unchanged: Unchanged,
    resume_key: str | None,
    version: str | None,
    tags: Iterable[str] | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    provenance: dict[str, Any] | None,
    publish: bool,
    finalize: bool,
    symlinks: Symlinks,
    keep_on_error: bool,
    max_workers: int | None,
    allow_empty: bool = False,
) -> FolderVersion:
    """See :meth:`dataver.Registry.version_folder`."""
    made_by = dict(provenance or {})
    if resume_key is not None:
        made_by["resume_key"] = resume_key
    request = _Request(
        name=name,
        project=project,
        folder=os.fspath(folder),
        dataset_path=dataset_path,
        unchanged=unchanged,
        symlinks=symlinks,
        version=version,
        publish=publish,
        finalize=finalize,
        keep_on_error=keep_on_error,
        max_workers=max_workers,
        allow_empty=allow_empty,
        create_args={
            "tags": tags,
            "description": description,
            "metadata": metadata,
            "provenance": made_by,
        },
    ).checked()
    if resume_key is not None:
        ds = find_resumable(registry, resume_key, name=name, project=project, states=RESUMABLE)
        if ds is not None:
            if ds.state is State.UPLOADING:
                return _build(request, ds, None, "resumed")
            return _finished(request, ds, "resumed")
    parent_ids = registry.resolve_parents(name, project, parents)
    if len(parent_ids) > 1:
        # NOTE: a merge: the folder is compared with the merged parents the new version holds.
        return _build(request, _create(registry, request, parent_ids), None, "built")
    parent = registry.get(parent_ids[0]) if parent_ids else None
    # NOTE: compared before anything is created: an unreadable file or a refused link
    # leaves no version behind, and an unchanged folder none either.
    found = _compare(registry, request, parent)
    if parent is not None and not found.changes and _reusable(request, parent):
        if parent.state in (State.FINAL, State.PUBLISHED):
            parent._remember_folder(found)
        if request.unchanged == "skip":
            return FolderVersion(None, "skipped", parent=parent.id)
        return _finished(request, parent, "reused", parent=parent.id)
    return _build(request, _create(registry, request, parent_ids), found, "built")


def _reusable(request: _Request, parent: Dataset) -> bool:
    """Whether an unchanged folder may stand for ``parent`` instead of a new version.

    NOTE: only a version of this dataset is reused: a parent in another dataset (a derived
    dataset's first version) must still give this dataset a version; and a version string
    other than the parent's asks for a new version.
    """
    if request.unchanged == "new":
        return False
    same = same_name(parent.project, request.project) and same_name(parent.name, request.name)
    wanted = request.version is None or semver.normalize(request.version) == parent.version
    return same and wanted


def find_resumable(
    registry: Registry,
    resume_key: str,
    *,
    name: str,
    project: str = "default",
    states: Iterable[str | State] = (State.UPLOADING,),
) -> Dataset | None:
    """See :meth:`dataver.Registry.find_resumable`."""
    for listed in registry.list(project=project, name=name, states=states):
        if listed.provenance.get("resume_key") == resume_key:
            # NOTE: list() gives a read-only view; get() loads it with its swap token.
            return registry.get(listed.id, states=None)
    return None


def _compare(registry: Registry, request: _Request, parent: Dataset | None) -> change.SyncFound:
    """What syncing the folder into a version starting from ``parent`` (None: empty) changes.

    No version is needed for it: the result is applied as it is to the version built on
    ``parent``, whose starting content is the parent's.
    """
    if parent is not None:
        return parent._compare_folder(request.folder, request.dataset_path, request.symlinks)
    backend = registry.backend
    empty = Manifest(backend.store, None, backend.settings.hash_algorithm)
    with paused_gc():
        return change.sync_folder(
            backend, empty, request.folder, dataset_path=request.dataset_path,
            symlinks=request.symlinks,
        )  # fmt: skip


def _create(registry: Registry, request: _Request, parent_ids: list[str]) -> Dataset:
    return registry.create(
        request.name,
        project=request.project,
        parents=parent_ids,
        version=request.version,
        **request.create_args,
    )


def _build(
    request: _Request, ds: Dataset, found: change.SyncFound | None, outcome: Outcome
) -> FolderVersion:
    """Sync (or apply what the comparison found), upload, finalize, publish.

    A failure leaves the version Uploading when ``keep_on_error`` (a retry resumes it),
    else marks it Failed with the error; an interrupt (Ctrl-C, a kill Python sees) aborts it.
    """
    try:
        if found is None:
            found = ds._compare_folder(request.folder, request.dataset_path, request.symlinks)
        ds._apply_folder(found)
        stored = 0
        if request.finalize:
            stored = ds.upload(request.max_workers)
            ds.finalize()
            if request.publish:
                ds.publish()
    except BaseException as exc:
        _end(ds, exc, request.keep_on_error)
        raise
    counts = found.counts
    parent = ds.parents[0] if len(ds.parents) == 1 else None
    return FolderVersion(ds, outcome, parent, counts.removed, counts.added, counts.modified, stored)


def _finished(
    request: _Request, ds: Dataset, outcome: Outcome, *, parent: str | None = None
) -> FolderVersion:
    """A version already sealed (reused, or finished by an earlier try): publish if asked."""
    if request.publish and ds.state is State.FINAL:
        ds.publish()
    return FolderVersion(ds, outcome, parent)


def _end(ds: Dataset, error: BaseException, keep: bool) -> None:
    """Leave the version for a retry, mark it Failed, or abort it (interrupted)."""
    interrupted = not isinstance(error, Exception)
    if keep and not interrupted:
        return
    try:
        if ds.reload().state is not State.UPLOADING:
            return
        if interrupted:
            ds.abort(f"interrupted ({type(error).__name__})")
        else:
            ds.fail(str(error) or type(error).__name__)
    except DataverError:
        return  # NOTE: the original error is what the caller must see
