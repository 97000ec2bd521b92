"""``dataver.clearml.Dataset``: ClearML Data's ``Dataset`` class, on a dataver registry.

Every method has the name, parameters, defaults and return values of ``clearml.Dataset``
(2.1.x), and raises where ClearML raises (``ValueError`` for a bad or missing dataset).
Each one is a thin call into dataver's SDK; the behaviours themselves live there. Where
dataver is deliberately different from ClearML (aborted versions are not final, removals
survive a squash, renames inside a child are not copies...) the docstring says so, and
``docs/clearml.md`` lists every difference.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wcmatch import glob as wcglob

from dataver.clearml import lookup
from dataver.clearml import owners as owners_
from dataver.clearml.config import current
from dataver.clearml.entries import FileEntry, LinkEntry
from dataver.errors import (
    DatasetLookupError,
    InvalidTransitionError,
    PendingUploadError,
    ValidationError,
)
from dataver.hashing import hash_file
from dataver.ops.externalize import check_outside, same_location
from dataver.storage import links
from dataver.versions.state import State

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dataver.api.dataset import Dataset as _Version
    from dataver.api.registry import Registry
    from dataver.manifest.entry import Entry

log = logging.getLogger("dataver.clearml")

_LIVE = (State.UPLOADING, State.FINAL, State.PUBLISHED)
_DONE = (State.FINAL, State.PUBLISHED)
_PROVENANCE_KEY = "clearml"
_METADATA = "metadata"


class Dataset:
    """One dataset version, with ClearML's ``Dataset`` interface.

    Get one from :meth:`create` or :meth:`get`, exactly as with ClearML; the registry is
    ``DATAVER_REGISTRY`` or the one given to :func:`dataver.clearml.configure`.

    Example:
        >>> from dataver.clearml import Dataset
        >>> ds = Dataset.create(dataset_name="images", dataset_project="vision")  # doctest: +SKIP
        >>> ds.add_files("data/")  # doctest: +SKIP
        >>> ds.upload()  # doctest: +SKIP
        >>> ds.finalize()  # doctest: +SKIP
        True
    """

    def __init__(self, version: _Version) -> None:
        """Wrap a dataver version (use :meth:`create` or :meth:`get`, as with ClearML)."""
        self._version = version

    def __repr__(self) -> str:
        return f"<dataver.clearml.Dataset {self.project}/{self.name} {self.version} id={self.id}>"

    # ------------------------------------------------------------------ properties
    @property
    def id(self) -> str:
        """The version id."""
        return self._version.id

    @property
    def name(self) -> str:
        """The dataset name."""
        return self._version.name

    @property
    def project(self) -> str:
        """The dataset's project."""
        return self._version.project

    @property
    def version(self) -> str:
        """The version string (a semantic version)."""
        return self._version.version

    @version.setter
    def version(self, version: str) -> None:
        # NOTE: a version string is claimed atomically at create; changing it later would
        # let two versions share one string. ClearML allows it; dataver refuses clearly.
        raise ValidationError(
            f"the version string of {self.id} is fixed when it is created ({self.version}); "
            f"create it with dataset_version={version!r} instead",
            version_id=self.id,
        )

    @property
    def tags(self) -> list[str]:
        """The version's tags."""
        return list(self._live().tags)

    @tags.setter
    def tags(self, values: Sequence[str]) -> None:
        version = self._live()
        version.remove_tags(*version.tags)
        version.add_tags(*_listed(values))

    @property
    def file_entries(self) -> list[FileEntry]:
        """Every stored file of the version, as ClearML ``FileEntry`` objects."""
        return list(self.file_entries_dict.values())

    @property
    def file_entries_dict(self) -> dict[str, FileEntry]:
        """``{relative path: FileEntry}`` of every stored file."""
        files, _ = self._entries()
        return files

    @property
    def link_entries(self) -> list[LinkEntry]:
        """Every external link of the version, as ClearML ``LinkEntry`` objects."""
        return list(self.link_entries_dict.values())

    @property
    def link_entries_dict(self) -> dict[str, LinkEntry]:
        """``{relative path: LinkEntry}`` of every external link."""
        _, links = self._entries()
        return links

    # ------------------------------------------------------------------ class methods
    @classmethod
    def create(
        cls,
        dataset_name: str | None = None,
        dataset_project: str | None = None,
        dataset_tags: Sequence[str] | None = None,
        parent_datasets: Sequence[str | Dataset] | None = None,
        use_current_task: bool = False,
        dataset_version: str | None = None,
        output_uri: str | None = None,
        description: str | None = None,
    ) -> Dataset:
        """Create a new version (Uploading), starting from the merged files of its parents.

        Args:
            dataset_name: The dataset's name; by default the last parent's (ClearML takes
                it from the current Task, which dataver does not have).
            dataset_project: Its project; by default the last parent's.
            dataset_tags: Tags of the version.
            parent_datasets: Parent versions (ids or Datasets), in merge order: a later
                parent wins on the same path. They must be Final or Published.
            use_current_task: Accepted for compatibility; there is no ClearML Task. Who built
                the version is recorded by dataver's integrations instead.
            dataset_version: A semantic version; by default the next patch version, taken
                atomically (two concurrent creates never get the same one).
            output_uri: Where :meth:`upload` puts the files when it is not the registry:
                they are stored there as plain objects and linked (see :meth:`upload`).
            description: Free text.

        Raises:
            ValueError: No name; no project and no parent to take it from; a parent is not
                final; the version string is invalid or taken.
        """
        registry = current()
        parents = [_id_of(p) for p in parent_datasets or []]
        last = registry.get(parents[-1], states=None) if parents else None
        name = dataset_name or (last.name if last is not None else None)
        if not name:
            raise ValidationError("Missing dataset name: pass dataset_name")
        if dataset_project:
            project = dataset_project
        elif last is not None:
            project = last.project
        else:
            raise ValidationError(
                "Missing dataset project name. Could not infer project name from parent dataset."
            )
        created = registry.create(
            name,
            project,
            parents,
            version=dataset_version,
            tags=_listed(dataset_tags),
            description=description,
            provenance=_provenance(registry, output_uri, use_current_task),
        )
        return cls(created)

    @classmethod
    def get(
        cls,
        dataset_id: str | None = None,
        dataset_project: str | None = None,
        dataset_name: str | None = None,
        dataset_tags: Sequence[str] | None = None,
        only_completed: bool = False,
        only_published: bool = False,
        include_archived: bool = False,
        auto_create: bool = False,
        writable_copy: bool = False,
        dataset_version: str | None = None,
        alias: str | None = None,
        overridable: bool = False,
        shallow_search: bool = False,
        silence_alias_warnings: bool = False,
        **kwargs: Any,
    ) -> Dataset:
        """Get a version by id, or the highest version of a dataset.

        Without ``only_completed`` / ``only_published``, an Uploading version counts too (as
        in ClearML); Failed and Aborted versions never do (ClearML re-opens an aborted one).

        Args:
            dataset_id: A version id (found in any state).
            dataset_project: The dataset's project (any project when omitted).
            dataset_name: The dataset's name.
            dataset_tags: The version must carry at least one of these tags.
            only_completed: Only Final or Published versions.
            only_published: Only Published versions.
            include_archived: Accepted; dataver has no archive.
            auto_create: Create the dataset when nothing matches.
            writable_copy: Return a new Uploading child of the version found.
            dataset_version: An exact version string.
            alias: Accepted; no Task records the alias.
            overridable: Accepted; no Task can override it.
            shallow_search: Accepted; every search is exhaustive.
            silence_alias_warnings: Accepted.
            **kwargs: Accepted, as ClearML does.

        Raises:
            ValueError: Nothing matches (a :class:`~dataver.errors.DatasetLookupError`), or
                no criteria were given.
        """
        if not (dataset_id or dataset_project or dataset_name):
            raise ValidationError(
                "Dataset selection criteria not met. Didn't provide id/name/project correctly."
            )
        registry = current()
        states = (State.PUBLISHED,) if only_published else _DONE if only_completed else _LIVE
        try:
            found = lookup.find(
                registry, dataset_id, dataset_project, dataset_name, dataset_tags,
                dataset_version, states,
            )  # fmt: skip
        except DatasetLookupError:
            if not auto_create:
                raise
            return cls.create(
                dataset_name=dataset_name,
                dataset_project=dataset_project,
                dataset_tags=dataset_tags,
                dataset_version=dataset_version,
            )
        if writable_copy:
            return cls.create(
                dataset_name=found.name, dataset_project=found.project, parent_datasets=[found.id]
            )
        return cls(found)

    @classmethod
    def list_datasets(
        cls,
        dataset_project: str | None = None,
        partial_name: str | None = None,
        tags: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        only_completed: bool = True,
        recursive_project_search: bool = True,
        include_archived: bool = True,
    ) -> list[dict[str, Any]]:
        """List versions, newest first, as ClearML's dicts.

        Each is ``{"name", "created", "project", "id", "tags", "version", "status"}``;
        ``status`` is ClearML's word (``completed``, ``published``, ``in_progress``,
        ``stopped``, ``failed``).

        Args:
            dataset_project: Only this project (and, with ``recursive_project_search``, the
                projects below it: ``a`` includes ``a/b``).
            partial_name: A regular expression searched in the name.
            tags: Only versions carrying at least one of these tags.
            ids: Only these version ids.
            only_completed: Only Final and Published versions (ClearML counts aborted ones
                too; dataver does not: their content may be incomplete).
            recursive_project_search: See ``dataset_project``.
            include_archived: Accepted; dataver has no archive.
        """
        pattern = re.compile(partial_name) if partial_name else None
        wanted = set(ids or [])
        out = []
        for version in current().list(states=_DONE if only_completed else None):
            if wanted and version.id not in wanted:
                continue
            if pattern is not None and not pattern.search(version.name):
                continue
            if tags and not set(tags) & set(version.tags):
                continue
            if dataset_project and not lookup.in_project(
                version.project, dataset_project, recursive_project_search
            ):
                continue
            out.append(lookup.summary(version))
        return out

    @classmethod
    def squash(
        cls,
        dataset_name: str,
        dataset_ids: Sequence[str | Dataset] | None = None,
        dataset_project_name_pairs: Sequence[Sequence[str]] | None = None,
        output_url: str | None = None,
        close_squashed_dataset: bool | None = True,
    ) -> Dataset:
        """Merge versions (first to last, a later one wins) into one new parentless version.

        Unlike ClearML, nothing is downloaded or uploaded again (the stored content is
        reused), files removed along the way stay removed, and the result is always Final.

        Args:
            dataset_name: Name of the new dataset.
            dataset_ids: The versions, in order.
            dataset_project_name_pairs: Or ``(project, name)`` pairs: each dataset's highest
                Final or Published version.
            output_url: Accepted; the content stays in the registry.
            close_squashed_dataset: Accepted; the squashed version is always Final.

        Raises:
            ValueError: Neither ``dataset_ids`` nor ``dataset_project_name_pairs`` was given.
        """
        registry = current()
        if dataset_ids:
            ids = [_id_of(i) for i in dataset_ids]
        elif dataset_project_name_pairs:
            ids = [
                registry.get(name=name, project=project).id
                for project, name in dataset_project_name_pairs
            ]
        else:
            raise ValidationError("squash needs dataset_ids or dataset_project_name_pairs")
        return cls(registry.squash(ids, dataset_name))

    @classmethod
    def delete(
        cls,
        dataset_id: str | None = None,
        dataset_project: str | None = None,
        dataset_name: str | None = None,
        force: bool = False,
        dataset_version: str | None = None,
        entire_dataset: bool = False,
        shallow_search: bool = False,
        delete_files: bool = True,
        delete_external_files: bool = False,
    ) -> None:
        """Delete a version, or every version of a dataset (``entire_dataset=True``).

        The stored content is reclaimed by ``dataver gc`` (safe while other writers work).
        A version other versions use as a parent is never deleted (ClearML's check is dead
        code and leaves the children broken).

        Args:
            dataset_id: The version to delete.
            dataset_project: Or the dataset's project...
            dataset_name: ...and name (its highest version, unless ``entire_dataset``).
            force: Also delete Published versions; needed by ``entire_dataset``. A
                version still being built is deleted without it, as in ClearML.
            dataset_version: An exact version of the dataset.
            entire_dataset: Delete every version of the dataset (children first).
            shallow_search: Accepted.
            delete_files: Accepted; content is reclaimed by ``dataver gc``.
            delete_external_files: Also delete the targets of the external links this
                version introduced (the files :meth:`upload` stored as links, say).

        Raises:
            ValueError: No criteria, nothing matches, or ``entire_dataset`` without ``force``.
            HasChildrenError: A version still has live children.
        """
        registry = current()
        if not (dataset_id or dataset_project or dataset_name):
            raise ValidationError(
                "Dataset deletion criteria not met. Didn't provide id/name/project correctly."
            )
        if dataset_id and (dataset_project or dataset_name):
            raise ValidationError("give dataset_id, or dataset_project/dataset_name, not both")
        if entire_dataset and not force:
            raise ValidationError("Can only delete entire dataset if force is True")
        if dataset_id:
            victims = [lookup.find(registry, dataset_id, None, None, None, None, None)]
        else:
            victims = lookup.versions_of(registry, dataset_project, dataset_name, dataset_version)
            if len(victims) > 1 and not entire_dataset:
                raise ValidationError(
                    f"{len(victims)} versions match; pass dataset_version, or "
                    "entire_dataset=True with force=True to delete them all"
                )
        for version in victims:
            links = _own_links(version) if delete_external_files else []
            # NOTE: ClearML deletes a version still being built without force (a script
            # cleaning up after a failure); Published stays protected.
            registry.delete(version.id, force=force or version.state is not State.PUBLISHED)
            _remove_targets(registry, links)

    @classmethod
    def rename(cls, new_dataset_name: str, dataset_project: str, dataset_name: str) -> None:
        """Rename a dataset (all its versions)."""
        current().rename(dataset_project, dataset_name, new_dataset_name)

    @classmethod
    def move_to_project(
        cls, new_dataset_project: str, dataset_project: str, dataset_name: str
    ) -> None:
        """Move a dataset (all its versions) to another project."""
        current().move(dataset_project, dataset_name, new_dataset_project)

    @classmethod
    def is_offline(cls) -> bool:
        """False: there is no server to be offline from; everything works everywhere."""
        return False

    @classmethod
    def set_offline(cls, offline_mode: bool = False) -> None:
        """Accepted: dataver needs no server, so offline and online are the same."""

    # ------------------------------------------------------------------ building
    def add_files(
        self,
        path: str | os.PathLike[str],
        wildcard: str | Sequence[str] | None = None,
        local_base_folder: str | None = None,
        dataset_path: str | None = None,
        recursive: bool = True,
        verbose: bool = False,
        max_workers: int | None = None,
    ) -> int:
        """Add a file, or a folder's files, to this Uploading version.

        Args:
            path: A file or folder (relative to ``local_base_folder`` if given).
            wildcard: Glob(s) selecting the files (matched at any depth).
            local_base_folder: The folder ``path`` is relative to.
            dataset_path: Folder inside the dataset ("" or None: the root).
            recursive: Descend into sub-folders.
            verbose: Log each call.
            max_workers: Accepted; files are hashed on twice as many threads as cores.

        Returns:
            How many new paths were added (as ClearML: a modified file is not counted).
        """
        source = Path(local_base_folder, path) if local_base_folder else Path(path)
        return self._count_new(
            lambda v: v.add_files(source, dataset_path or "", _wildcards(wildcard), recursive),
            verbose,
            f"add_files {source}",
        )

    def add_external_files(
        self,
        source_url: str | Sequence[str],
        wildcard: str | Sequence[str] | None = None,
        dataset_path: str | Sequence[str] | None = None,
        recursive: bool = True,
        verbose: bool = False,
        max_workers: int | None = None,
        read_hash: bool = False,
    ) -> int:
        """Add links to files that stay where they are.

        Args:
            source_url: A URL (file or folder) or a list of them.
            wildcard: Glob(s) selecting the files.
            dataset_path: Folder inside the dataset, or a list parallel to ``source_url``.
            recursive: Descend into sub-folders.
            verbose: Log each call.
            max_workers: Accepted.
            read_hash: Accepted; local files are always hashed, remote ones by size.

        Returns:
            How many new paths were added.
        """
        urls = [source_url] if isinstance(source_url, str) else list(source_url)
        if dataset_path is None or isinstance(dataset_path, str):
            folders = [dataset_path or ""] * len(urls)
        else:
            folders = [p or "" for p in dataset_path]
            if len(folders) != len(urls):
                raise ValidationError(
                    f"dataset_path has {len(folders)} items for {len(urls)} source_url items"
                )
        wildcards = _wildcards(wildcard)

        def add(version: _Version) -> None:
            with version.batch():  # NOTE: one change: a URL not found adds nothing
                for url, folder in zip(urls, folders, strict=True):
                    version.add_external_files(url, folder, wildcards, recursive)

        return self._count_new(add, verbose, f"add_external_files {urls}")

    def remove_files(
        self, dataset_path: str | None = None, recursive: bool = True, verbose: bool = False
    ) -> int:
        """Remove the files matching a glob, or the links to a URL (``s3://...`` globs too).

        A folder name removes the folder's files (ClearML needs ``folder/*``).

        Returns:
            How many entries were removed.
        """
        if not dataset_path:
            raise ValidationError("remove_files needs a dataset_path (a glob or a link URL)")
        version = self._live()
        if "://" in dataset_path:
            matcher = wcglob.compile(dataset_path, flags=wcglob.GLOBSTAR)
            paths = [e.path for e in version.entries() if e.url and matcher.match(e.url)]
            removed = sum(version.remove_files(wcglob.escape(p), recursive=False) for p in paths)
        else:
            removed = version.remove_files(dataset_path, recursive)
        _say(verbose, f"remove_files {dataset_path}: {removed} removed")
        return removed

    def sync_folder(
        self,
        local_path: str | os.PathLike[str],
        dataset_path: str | os.PathLike[str] | None = None,
        verbose: bool = False,
    ) -> tuple[int, int, int]:
        """Make ``dataset_path`` mirror a local folder; links under it are kept (ClearML
        drops them).

        Returns:
            ``(removed, added, modified)``.
        """
        counts = self._live().sync_folder(local_path, os.fspath(dataset_path or ""))
        _say(verbose, f"sync_folder {local_path}: {counts}")
        return counts

    def upload(
        self,
        show_progress: bool = True,
        verbose: bool = False,
        output_url: str | None = None,
        compression: str | None = None,
        chunk_size: int | None = None,
        max_workers: int | None = None,
        retries: int = 3,
        preview: bool = True,
        upload_as_external_links: bool = False,
    ) -> bool | None:
        """Store the files added since the last upload (only bytes the registry lacks).

        Args:
            show_progress: Accepted; progress goes to dataver's log (the CLI draws bars).
            verbose: Log what is done.
            output_url: Where the files go. The registry (or None): dataver's packed,
                de-duplicated storage. Anywhere else (a folder, ``s3://...``, any fsspec
                URL): each file is stored there as its own object, at
                ``<output_url>/external_links/<id>/<path>``, and becomes a link (the
                registry's layout is dataver's own, so content cannot go there otherwise).
                Defaults to ``output_uri`` given to :meth:`create`.
            compression: Accepted; packs are stored uncompressed (data is mostly
                compressed already) and manifests are zstd-compressed.
            chunk_size: Accepted; dataver sizes its packs and cuts large files by content.
            max_workers: Parallel transfers.
            retries: Accepted; transient errors are retried by ``DATAVER_RETRY_*``.
            preview: Accepted; the web page (``dataver ui``) previews files.
            upload_as_external_links: Store the files at ``output_url`` as links, as above.

        Returns:
            None, as ClearML.

        Raises:
            ValueError: ``upload_as_external_links`` without an ``output_url`` (or
                ``output_uri``) outside the registry.
        """
        version = self._live()
        target = output_url or self._output_uri()
        outside = target is not None and not same_location(target, self._registry.url)
        if upload_as_external_links and not outside:
            raise ValidationError(
                "output_url must be set when upload_as_external_links=True "
                "(a location outside the registry)"
            )
        if outside and target is not None:
            where = f"{target.rstrip('/')}/external_links/{self.id}"
            stored = version.upload(max_workers, external_url=where)
            _say(verbose, f"upload: {stored} bytes stored as links under {where}")
        else:
            stored = version.upload(max_workers)
            _say(verbose, f"upload: {stored} bytes stored in {self._registry.url}")
        return None

    def finalize(
        self, verbose: bool = False, raise_on_error: bool = True, auto_upload: bool = False
    ) -> bool:
        """Close the version: Final, immutable, usable as a parent.

        Returns:
            True; False instead of raising when ``raise_on_error`` is False.

        Raises:
            ValueError: Files are not uploaded (and not ``auto_upload``), or the version is
                not Uploading.
        """
        try:
            if auto_upload and self.is_dirty():
                self.upload(verbose=verbose)
            self._version.finalize()
        except (PendingUploadError, InvalidTransitionError) as exc:
            if raise_on_error:
                raise
            log.warning("finalize %s: %s", self.id, exc)
            return False
        _say(verbose, f"finalized {self.id}")
        return True

    def publish(self, raise_on_error: bool = True) -> bool:
        """Publish a Final version: read-only for good.

        Returns:
            True; False instead of raising when ``raise_on_error`` is False (ClearML inverts
            this flag by mistake; dataver does what it says).
        """
        try:
            self._version.publish()
        except InvalidTransitionError as exc:
            if raise_on_error:
                raise
            log.warning("publish %s: %s", self.id, exc)
            return False
        return True

    def is_final(self) -> bool:
        """Whether the version is Final or Published (an aborted one is not, unlike ClearML)."""
        return self._version.reload().state in _DONE

    def is_dirty(self) -> bool:
        """Whether files were added that are not uploaded yet."""
        return self._version.state is State.UPLOADING and self._version.content().root.pending > 0

    # ------------------------------------------------------------------ reading
    def get_local_copy(
        self,
        use_soft_links: bool | None = None,
        part: int | None = None,
        num_parts: int | None = None,
        raise_on_error: bool = True,
        max_workers: int | None = None,
        files: list[str] | None = None,
    ) -> str:
        """A read-only folder of the version's files, made once in the cache.

        Args:
            use_soft_links: Accepted; files are hard links to verified cache blobs (never
                a chain of links into other versions' folders).
            part: With ``num_parts``, this worker's share (from 0) of the files: disjoint,
                deterministic, balanced by count. Alone: ``num_parts`` is
                :meth:`get_num_chunks` (as ClearML).
            num_parts: How many shares.
            raise_on_error: Accepted; a corrupt or missing file always raises (nothing
                corrupt is ever returned).
            max_workers: Accepted; transfers use ``DATAVER_MAX_WORKERS``.
            files: Only these dataset paths (exact paths, not globs).

        Raises:
            ValueError: The version is not final.
        """
        if part is not None and num_parts is None:
            num_parts = self.get_num_chunks()
        paths = ["/" + wcglob.escape(p.strip("/")) for p in files] if files else None
        return str(self._version.get_local_copy(paths, part=part, num_parts=num_parts))

    def get_mutable_local_copy(
        self,
        target_folder: str | os.PathLike[str],
        overwrite: bool = False,
        part: int | None = None,
        num_parts: int | None = None,
        raise_on_error: bool = True,
        max_workers: int | None = None,
    ) -> str | None:
        """Copy the version into ``target_folder``: writable files sharing nothing with the
        cache.

        Raises:
            ValueError: ``target_folder`` holds files and ``overwrite`` is False.
        """
        if part is not None and num_parts is None:
            num_parts = self.get_num_chunks()
        out = self._version.get_mutable_local_copy(
            target_folder, overwrite, part=part, num_parts=num_parts
        )
        return str(out)

    def list_files(
        self, dataset_path: str | None = None, recursive: bool = True, dataset_id: str | None = None
    ) -> list[str]:
        """Sorted paths of the files and links, optionally matching a glob, and optionally
        only those the version ``dataset_id`` introduced."""
        version = self._version
        if dataset_path and dataset_path.strip("/") not in ("", "*"):
            from dataver.paths import PathMatcher

            matcher = PathMatcher(dataset_path, recursive=recursive)
            paths = [p for p in version.list_files() if matcher.matches(p)]
        else:
            paths = [p for p in version.list_files() if recursive or "/" not in p]
        if dataset_id is None:
            return paths
        owner = owners_.owners(self._registry, version, paths)
        return [p for p in paths if owner.get(p) == dataset_id]

    def list_added_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths here and not in ``dataset_id`` (default: the parents)."""
        return self._version.list_added_files(dataset_id)

    def list_removed_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths in ``dataset_id`` (default: the parents) and not here."""
        return self._version.list_removed_files(dataset_id)

    def list_modified_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths in both whose content differs."""
        return self._version.list_modified_files(dataset_id)

    def get_dependency_graph(self) -> dict[str, list[str]]:
        """``{version id: [parent ids]}`` of this version and its ancestors."""
        return self._version.lineage()

    def verify_dataset_hash(
        self,
        local_copy_path: str | None = None,
        skip_hash: bool = False,
        verbose: bool = False,
    ) -> list[str]:
        """The paths whose bytes do not match the version (files and links; ClearML skips
        links).

        Args:
            local_copy_path: A folder holding a copy of the version; by default the
                registry's content and the cache's copies are checked.
            skip_hash: Compare sizes only (with ``local_copy_path``).
            verbose: Log each mismatch.
        """
        version = self._version
        if local_copy_path is None:
            bad = version.verify()
        else:
            root = Path(local_copy_path)
            algorithm = version.record.hash_algorithm
            bad = [e.path for e in version.entries() if not _matches(root, e, skip_hash, algorithm)]
        for path in bad:
            _say(verbose, f"verify: {path} does not match")
        return bad

    def get_num_chunks(self, include_parents: bool = True) -> int:
        """How many stored objects (packs, single objects, chunk lists, links) hold the
        version's files; with ``include_parents=False`` only those of files this version
        introduced."""
        version = self._version
        if include_parents:
            wanted: set[str] | None = None
        else:
            wanted = owners_.introduced(version)
        return len({_home(e) for e in version.entries() if wanted is None or e.path in wanted})

    # ------------------------------------------------------------------ annotations
    def set_metadata(
        self, metadata: Any, metadata_name: str = _METADATA, ui_visible: bool = True
    ) -> None:
        """Store a JSON value (dict, list, str, number) under ``metadata_name`` in the
        version's metadata (ClearML also takes DataFrames and arrays: convert them with
        ``to_dict()`` / ``tolist()``)."""
        version = self._live()
        version.set_metadata({**version.metadata, metadata_name: metadata})

    def get_metadata(self, metadata_name: str = _METADATA) -> Any:
        """The value stored by :meth:`set_metadata` under ``metadata_name``, or None."""
        return self._version.reload().metadata.get(metadata_name)

    def set_description(self, description: str) -> None:
        """Set the description."""
        self._live().set_description(description)

    def add_tags(self, tags: str | Sequence[str]) -> None:
        """Add tags."""
        self._live().add_tags(*_listed([tags] if isinstance(tags, str) else tags))

    def get_default_storage(self) -> str | None:
        """Where :meth:`upload` stores files: ``output_uri`` if given, else the registry."""
        return self._output_uri() or self._registry.url

    def get_logger(self) -> logging.Logger:
        """dataver's logger (there is no ClearML Logger to report to)."""
        return log

    def get_offline_mode_folder(self) -> Path | None:
        """None: there is no offline session folder."""
        return None

    # ------------------------------------------------------------------ helpers
    @property
    def _registry(self) -> Registry:
        return self._version.registry

    def _live(self) -> _Version:
        """The version, refreshed (another process may have changed it)."""
        return self._version.reload()

    def _output_uri(self) -> str | None:
        found = self._version.provenance.get(_PROVENANCE_KEY, {})
        value = found.get("output_uri") if isinstance(found, dict) else None
        return value if isinstance(value, str) else None

    def _count_new(self, change: Any, verbose: bool, what: str) -> int:
        """Run ``change(version)``; return how many paths it added (files before and after:
        adding never removes)."""
        version = self._live()
        before = version.content().root.files
        change(version)
        added = int(version.content().root.files - before)
        _say(verbose, f"{what}: {added} added")
        return added

    def _entries(self) -> tuple[dict[str, FileEntry], dict[str, LinkEntry]]:
        version = self._version
        owner = owners_.owners(self._registry, version)
        files: dict[str, FileEntry] = {}
        links: dict[str, LinkEntry] = {}
        for e in version.entries():
            by = owner.get(e.path, version.id)
            if e.url is not None:
                links[e.path] = LinkEntry(e.url, e.path, by, e.size, e.hash)
            else:
                home = None if e.is_pending else _home(e)
                files[e.path] = FileEntry(e.path, e.hash, by, e.size, home, e.source)
        return files, links


def _id_of(dataset: str | Dataset | _Version) -> str:
    return dataset if isinstance(dataset, str) else dataset.id


def _listed(values: str | Sequence[str] | None) -> list[str]:
    if values is None:
        return []
    return [values] if isinstance(values, str) else list(values)


def _wildcards(wildcard: str | Sequence[str] | None) -> str | list[str] | None:
    return wildcard if wildcard is None or isinstance(wildcard, str) else list(wildcard)


def _provenance(registry: Registry, output_uri: str | None, task: bool) -> dict[str, Any]:
    facts: dict[str, Any] = {"tool": "dataver.clearml"}
    if output_uri and not same_location(output_uri, registry.url):
        check_outside(output_uri, registry.url)
        facts["output_uri"] = output_uri
    if task:
        facts["use_current_task"] = True
    return {_PROVENANCE_KEY: facts}


def _home(entry: Entry) -> str:
    """Where an entry's bytes are stored (one name per pack, object, chunk list or link)."""
    if entry.url is not None:
        return entry.url
    if entry.chunks is not None:
        return f"manifests/{entry.chunks}"
    if entry.pack is not None:
        return f"packs/{entry.pack}"
    return f"objects/{entry.hash}"


def _matches(root: Path, entry: Entry, skip_hash: bool, algorithm: str) -> bool:
    local = root / entry.path
    if not local.is_file() or local.stat().st_size != entry.size:
        return False
    return skip_hash or entry.hash is None or hash_file(local, algorithm) == entry.hash


def _own_links(version: _Version) -> list[str]:
    """URLs of the links ``version`` introduced (the targets ``delete_external_files`` removes)."""
    mine = owners_.introduced(version)
    return [e.url for e in version.entries() if e.url is not None and e.path in mine]


def _remove_targets(registry: Registry, urls: list[str]) -> None:
    for url in urls:
        links.remove(url, registry.settings)


def _say(verbose: bool, message: str) -> None:
    if verbose:
        log.info(message)
