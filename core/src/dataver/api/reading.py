"""Reading a version: its files, diffs, lineage, local copies, single files, verification."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dataver.api.handle import VersionHandle
from dataver.cache.links import clone_or_copy
from dataver.cache.local import TreeLabel
from dataver.diff import Diff, diff_manifests
from dataver.errors import IntegrityError, NotFoundError, ValidationError
from dataver.lineage import ancestry
from dataver.manifest.parts import check_part
from dataver.objects.ranged import RangeFile
from dataver.ops.verify import verify_version
from dataver.paths import PathMatcher, validate_path
from dataver.versions.state import READABLE, State

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator, Sequence

    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest

_UPLOADING = frozenset({State.UPLOADING})
_BUFFER = 256 << 10
"""Read-ahead of a chunked file opened by range (a chunk is fetched whole anyway)."""


class Reading(VersionHandle):
    """The operations that read a version (see :class:`~dataver.api.dataset.Dataset`)."""

    # ------------------------------------------------------------------ reading
    def list_files(self, pattern: str | None = None) -> list[str]:
        """Return the sorted dataset paths, optionally only those matching a glob."""
        matcher = PathMatcher(pattern) if pattern else None
        return [e.path for e in self._manifest() if matcher is None or matcher.matches(e.path)]

    def entries(self) -> Iterator[Entry]:
        """Yield the manifest entries (path, size, hash, location) in path order."""
        return iter(self._manifest())

    def content(self) -> Manifest:
        """This version's file list, read lazily shard by shard (memory stays flat).

        An Uploading version's staged changes are applied (in memory; nothing is written).
        Iterate it for the entries in path order, ``iter_folder(folder)`` for one folder,
        ``get(path)`` for one entry (one shard read), ``root`` for the totals.
        """
        return self._manifest()

    def parents_content(self) -> Manifest:
        """The merged file list of the parents (what :meth:`diff` compares against)."""
        return self._base()

    def _baseline(self, other: str | VersionHandle | None) -> Manifest:
        if other is None:
            return self._base()
        target = (
            other if isinstance(other, VersionHandle) else self._registry.get(other, states=None)
        )
        return target._manifest()

    def diff(self, other: str | VersionHandle | None = None) -> Diff:
        """Return what changed from ``other`` (default: the merged parents) to this version."""
        return diff_manifests(self._baseline(other), self._manifest())

    def list_added_files(self, other: str | VersionHandle | None = None) -> list[str]:
        """Paths in this version and not in ``other`` (default: the parents)."""
        d = self.diff(other)
        return sorted([*d.added, *(new for _, new in d.renamed)])

    def list_removed_files(self, other: str | VersionHandle | None = None) -> list[str]:
        """Paths in ``other`` (default: the parents) and not in this version."""
        d = self.diff(other)
        return sorted([*d.removed, *(old for old, _ in d.renamed)])

    def list_modified_files(self, other: str | VersionHandle | None = None) -> list[str]:
        """Paths in both whose content differs."""
        return list(self.diff(other).modified)

    def lineage(self) -> dict[str, list[str]]:
        """Return ``{version id: [parent ids]}`` for this version and all its ancestors."""
        return ancestry(self._backend.store, self.id)

    def get_local_copy(
        self,
        paths: Sequence[str] | None = None,
        *,
        part: int | None = None,
        num_parts: int | None = None,
    ) -> Path:
        """Return a read-only local tree of this version, materialised once in the cache.

        Files are hard links to the cache's blobs (mode 0444): never write through them; use
        :meth:`get_mutable_local_copy` for a writable copy. A second call, from any process,
        checks a marker only (``DATAVER_CACHE_VERIFY=size|hash`` checks every file too).

        Args:
            paths: Globs selecting a subset (``["train/*.jpg"]``), materialised in a folder of
                its own. A glob without ``/`` matches at any depth, one with ``/`` from the
                root (``/labels.csv``: only the top-level one); a folder name selects
                everything under it.
            part: With ``num_parts``: only part ``part`` (from 0) of ``num_parts`` disjoint
                shares of the (selected) files, for ``num_parts`` workers. The files are in
                path order and each part is a contiguous run of them, balanced by count; every
                worker computes the same split (:mod:`dataver.manifest.parts`). A part has a
                cache folder of its own.
            num_parts: How many parts the files are split into.

        Returns:
            The folder holding the version's files.

        Raises:
            InvalidTransitionError: The version is not Final or Published.
            IntegrityError: Stored content is corrupt (nothing corrupt is returned).
            ValidationError: A glob is empty; or ``part`` / ``num_parts`` is given alone, or
                is not ``0 <= part < num_parts``.

        Example:
            >>> ds.get_local_copy(paths=["*.csv"])  # doctest: +SKIP
            PosixPath('/home/me/.cache/dataver/versions/3f2a...~9c1e.../')
            >>> ds.get_local_copy(part=worker_index, num_parts=4)  # doctest: +SKIP
        """
        self._require(READABLE, "read")
        patterns = _patterns(paths)
        chosen = check_part(part, num_parts)
        backend = self._backend
        return backend.cache.materialize(
            backend.store,
            backend.settings,
            self._manifest(),
            self.id,
            patterns,
            self._label,
            chosen,
        )

    def get_mutable_local_copy(
        self,
        target: str | os.PathLike[str],
        overwrite: bool = False,
        paths: Sequence[str] | None = None,
        *,
        part: int | None = None,
        num_parts: int | None = None,
    ) -> Path:
        """Copy this version into ``target``: writable files sharing nothing with the cache.

        Copies are reflinks where the file system can (btrfs, xfs), else byte copies; never
        hard links, so writing to them cannot change the cache or any other copy.

        Args:
            target: The folder to fill (created if missing).
            overwrite: Replace the contents of a non-empty ``target``.
            paths: Globs selecting a subset, as in :meth:`get_local_copy`.
            part: Only this part of ``num_parts``, as in :meth:`get_local_copy`.
            num_parts: How many parts the files are split into.

        Returns:
            ``target`` as an absolute path.

        Raises:
            ValidationError: ``target`` exists, is not empty and ``overwrite`` is False, or is
                a file.
        """
        out = Path(target).expanduser().absolute()
        check_part(part, num_parts)  # NOTE: before anything in target is removed
        if out.exists() and not out.is_dir():
            raise ValidationError(f"{out} is a file, not a folder", path=str(out))
        if out.exists() and any(out.iterdir()):
            if not overwrite:
                raise ValidationError(
                    f"{out} is not empty; pass overwrite=True to replace its contents",
                    path=str(out),
                )
            shutil.rmtree(out)
        source = self.get_local_copy(paths, part=part, num_parts=num_parts)
        shutil.copytree(source, out, copy_function=_copy_writable, dirs_exist_ok=True)
        return out

    def open(self, path: str, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
        """Open one file of this version for reading, without materialising the rest.

        A file the cache holds is read from there. A chunked (large) file it does not hold
        is read from the registry by range, fetching only the chunks a read touches, each
        checked against its hash (reading to the end does not check the whole file's hash:
        :meth:`get_local_copy` and :meth:`verify` do). Any other file is fetched into the
        cache once (verified), then read from there.

        Args:
            path: The file's dataset path.
            mode: ``"rb"`` (default) or ``"r"`` for text.
            encoding: Text encoding for ``"r"`` (default UTF-8).

        Returns:
            A seekable file object; close it (or use ``with``).

        Raises:
            NotFoundError: The version has no such file.
            ValidationError: ``mode`` is not a read mode.
            IntegrityError: Stored content is corrupt (raised by a read, for a chunked file).

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
        stream = self._open_binary(entry)
        if mode == "rb":
            return stream
        return io.TextIOWrapper(stream, encoding=encoding or "utf-8")

    def _open_binary(self, entry: Entry) -> io.BufferedReader:
        backend = self._backend
        algorithm = self._record.hash_algorithm
        if entry.is_chunked:
            cached = backend.cache.cached(backend.settings, entry, algorithm)
            if cached is None:
                return io.BufferedReader(RangeFile(backend.store, entry, algorithm), _BUFFER)
            return cached.open("rb")
        blob = backend.cache.fetch_one(backend.store, backend.settings, entry, algorithm)
        return blob.open("rb")

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
        backend = self._backend
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
