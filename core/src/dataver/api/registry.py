"""The SDK entry point: a registry, found by URL, holding datasets and their versions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dataver.api.dataset import Dataset
from dataver.api.pipeline import PipelineSteps
from dataver.backend import Backend
from dataver.errors import (
    ConfigurationError,
    ConflictError,
    DatasetNotFoundError,
    FormatError,
    ObjectNotFoundError,
    RegistryNotFoundError,
    ValidationError,
    VersionNotFoundError,
)
from dataver.layout import FORMAT, MARKER
from dataver.ops import delete as delete_op
from dataver.ops import fsck as fsck_op
from dataver.ops import gc as gc_op
from dataver.ops import squash as squash_op
from dataver.ops.create import create_version, ensure_marker
from dataver.settings import Settings, get_settings
from dataver.storage import open_store
from dataver.versions import repo
from dataver.versions import semver as semver_
from dataver.versions.records import check_name, check_tags, nfc, same_name
from dataver.versions.state import State, parse_state

if TYPE_CHECKING:
    import builtins
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from dataver.api.parents import Parents
    from dataver.ops.fsck import FsckReport
    from dataver.ops.gc import GcPlan
    from dataver.storage.base import Store
    from dataver.versions.records import DatasetRecord, VersionRecord

DEFAULT_STATES = ("final", "published")


class Registry(PipelineSteps):
    """A dataset registry: a local folder, or (with the right store) a bucket.

    A location is a registry once it holds the registry marker (``dataver.json``), which
    the first version created there writes: opening one creates nothing. By default a
    location without the marker reads as an empty registry (a consumer may start before the
    first producer ever wrote there); ``must_exist=True`` refuses it instead, as the command
    line's reading commands do, so a typo in the URL is an error rather than "nothing
    there". :meth:`exists` tells which it is.

    Args:
        url: A local path or ``file://`` URL. Defaults to ``DATAVER_REGISTRY``.
        storage_options: Options for the storage backend.
        settings: Settings to use instead of the environment's.
        must_exist: Raise :class:`~dataver.RegistryNotFoundError` if no registry is there.

    Raises:
        ConfigurationError: The URL is not supported.
        FormatError: The registry was written by an incompatible dataver.
        RegistryNotFoundError: With ``must_exist``, the location holds no registry.

    Example:
        >>> import dataver, tempfile
        >>> reg = dataver.Registry(tempfile.mkdtemp())
        >>> reg.list(), reg.exists()
        ([], False)
        >>> try:
        ...     dataver.Registry(reg.url, must_exist=True)
        ... except dataver.RegistryNotFoundError as exc:
        ...     print(str(exc).rsplit(": ", 1)[1])
        the folder is empty
    """

    def __init__(
        self,
        url: str | Path | None = None,
        *,
        storage_options: dict[str, Any] | None = None,
        settings: Settings | None = None,
        must_exist: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        target = url if url is not None else self.settings.registry
        if not str(target):
            raise ConfigurationError("empty registry URL")
        store = open_store(target, storage_options=storage_options, settings=self.settings)
        self._exists = _check_marker(store)
        if must_exist and not self._exists:
            store.close()
            raise RegistryNotFoundError(
                f"no dataver registry at {store.url}: {_what_is_there(store)}", url=store.url
            )
        self.backend = Backend.build(store, self.settings)

    def exists(self) -> bool:
        """Whether a registry is at this URL: it holds the marker (``dataver.json``).

        False for a location nothing was created in yet (the first :meth:`create` writes
        the marker), or the wrong URL.
        """
        if not self._exists:
            self._exists = self.store.exists(MARKER)
        return self._exists

    def initialize(self) -> bool:
        """Make this location a registry now (write its marker), if it is not one yet.

        Creating the first version does this too; this is for a location that must read as
        a registry before anything is versioned in it (e.g. a connection test asked to
        create one). Safe under races: one process writes the marker, the others see it.

        Returns:
            False if the location already was a registry, else True (when two processes race,
            both may say True; one marker is written).
        """
        if self.exists():
            return False
        ensure_marker(self.store)
        self._exists = True
        return True

    @property
    def url(self) -> str:
        """The registry's URL."""
        return self.backend.store.url

    @property
    def store(self) -> Store:
        return self.backend.store

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def close(self) -> None:
        """Release what this handle holds: the store's connections, the stat cache's database.

        A closed registry must not be used again. Long-lived processes (an Airflow triggerer,
        a Prefect worker, a web server) should close every registry they open, or use one
        as a context manager (``with Registry(url) as reg:``).
        """
        self.backend.stat_cache.close()
        self.backend.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(
        self,
        name: str,
        project: str = "default",
        parents: Parents = None,
        version: str | None = None,
        tags: Iterable[str] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        provenance: dict[str, Any] | None = None,
    ) -> Dataset:
        """Create a new version (state Uploading) of dataset ``project/name``.

        The new version starts with the merged files of its parents (a later parent wins on
        the same path) and stores only what changes.

        Args:
            name: Dataset name.
            project: Project of the dataset.
            parents: Parent versions (ids or Datasets), in merge order; Final or Published.
                ``"latest"``: the dataset's highest Final or Published version, or no parent
                for its first version (what pipelines building version after version want).
            version: A semantic version; by default the next patch version, taken atomically.
            tags: Tags of the version.
            description: Free text.
            metadata: A JSON object of user metadata.
            provenance: Who or what built the version (set by integrations).

        Returns:
            The new :class:`Dataset`.

        Raises:
            ValidationError: A name, tag, metadata key or version string is invalid.
            InvalidTransitionError: A parent is not Final or Published.
            ConflictError: ``version`` is already taken.

        Example:
            >>> ds = reg.create("images", project="vision")  # doctest: +SKIP
            >>> child = reg.create("images", project="vision", parents="latest")  # doctest: +SKIP
        """
        parent_ids = self.resolve_parents(name, project, parents)
        record, token = create_version(
            self.backend,
            name=name,
            project=project,
            parents=parent_ids,
            version=version,
            tags=tags,
            description=description,
            metadata=metadata,
            provenance=provenance,
        )
        return Dataset(self, record, token)

    def resolve_parents(
        self,
        name: str,
        project: str = "default",
        parents: Parents = None,
    ) -> builtins.list[str]:
        """The parent ids a new version of ``project/name`` would get from ``parents``.

        ``"latest"``: the dataset's highest Final or Published version, or none for its first
        version; a string: one version id; else the ids of the versions (ids, Datasets, or
        mappings with an ``"id"``, such as an Airflow XCom summary), in order.
        """
        if parents == "latest":
            return self._latest(name, project)
        if isinstance(parents, str):
            return [parents]  # NOTE: one id, not a sequence of one-letter ids
        return [_parent_id(p) for p in parents or []]

    def get(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        project: str | None = None,
        version: str | None = None,
        states: Iterable[str | State] | None = DEFAULT_STATES,
        tags: Iterable[str] | None = None,
    ) -> Dataset:
        """Return one version, by id or by (project, name[, version]).

        Without ``version``, returns the highest semantic version among ``states``.

        Args:
            id: A version id.
            name: Dataset name (with ``project``).
            project: Dataset project; defaults to ``"default"``.
            version: An exact version string.
            states: Acceptable states; None means any state (for ids too).
            tags: Every one of these tags must be on the version.

        Raises:
            VersionNotFoundError: Nothing matches.
            ValidationError: Neither ``id`` nor ``name`` was given.
        """
        wanted = _states(states)
        if id is not None:
            record, token = repo.load(self.store, id)
            if wanted is not None and record.state not in wanted:
                raise VersionNotFoundError(
                    f"version {id} is {record.state.value}, not "
                    f"{' or '.join(s.value for s in sorted(wanted, key=str))}; "
                    "pass states=None to get it in any state",
                    version_id=id,
                    state=record.state.value,
                )
            return Dataset(self, record, token)
        if name is None:
            raise ValidationError("get() needs an id, or a name (and project)")
        record = self._find(project or "default", name, version, wanted, check_tags(tags))
        record, token = repo.load(self.store, record.id)
        return Dataset(self, record, token)

    def _find(
        self,
        project: str,
        name: str,
        version: str | None,
        states: frozenset[State] | None,
        tags: tuple[str, ...],
    ) -> VersionRecord:
        records = self._records_of(project, name)
        if version is not None:
            wanted = semver_.normalize(version)
            records = [r for r in records if r.version == wanted]
        records = [r for r in records if _matches(r, states, tags)]
        if not records:
            what = f"{project}/{name}" + (f" version {version}" if version else "")
            raise VersionNotFoundError(
                f"no version of {what} in states {_names(states)}"
                + (f" with tags {list(tags)}" if tags else ""),
                project=project,
                name=name,
            )
        top = semver_.highest(r.version for r in records)
        return next(r for r in records if r.version == top) if top else records[0]

    def _records_of(self, project: str, name: str) -> list[VersionRecord]:
        dataset = repo.find_dataset(self.store, project, name)
        if dataset is None:
            return []
        return list(repo.iter_ids(self.store, list(repo.claims(self.store, dataset.id).values())))

    def _latest(self, name: str, project: str) -> list[str]:
        """``[id]`` of the dataset's highest Final/Published version; ``[]`` if it has none."""
        try:
            return [self.get(name=name, project=project).id]
        except VersionNotFoundError:
            return []

    def list(
        self,
        project: str | None = None,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        states: Iterable[str | State] | None = None,
    ) -> list[Dataset]:
        """Return versions matching every filter, newest first.

        Args:
            project: Only this project.
            name: Only datasets of this name.
            tags: Only versions carrying all these tags.
            states: Only these states (None: any).
        """
        wanted, tags_ = _states(states), check_tags(tags)
        if project is not None and name is not None:
            records = self._records_of(project, name)
        else:
            records = list(repo.iter_all(self.store))
        datasets = {d.id: d for d in repo.list_datasets(self.store)}
        out = []
        for record in records:
            dataset = datasets.get(record.dataset_id)
            if dataset is None or not _matches(record, wanted, tags_):
                continue
            if (project is not None and not same_name(dataset.project, project)) or (
                name is not None and not same_name(dataset.name, name)
            ):
                continue
            out.append(Dataset(self, record, None, dataset=dataset))
        return sorted(out, key=lambda d: (d.record.created_at, d.id), reverse=True)

    def datasets(self) -> builtins.list[DatasetRecord]:
        """Return every dataset (project, name, id), sorted."""
        return repo.list_datasets(self.store)

    def delete(self, id: str, force: bool = False) -> None:
        """Delete a version. Its content is reclaimed later by :meth:`gc`.

        Raises:
            HasChildrenError: Live versions use it as a parent.
            InvalidTransitionError: It is Published or Uploading and ``force`` is False.
        """
        delete_op.delete_version(self.backend, id, force=force)

    def squash(
        self, ids: Sequence[str | Dataset], name: str, project: str | None = None
    ) -> Dataset:
        """Merge versions into one parentless Final version, re-using their stored content.

        Args:
            ids: Versions in merge order (later wins); ancestors of later ones add nothing.
            name: Name of the dataset receiving the squashed version.
            project: Its project; defaults to the first version's project.
        """
        id_list = [_parent_id(i) for i in ids]
        if project is None and id_list:
            first, _ = repo.load(self.store, id_list[0])
            project = repo.load_dataset(self.store, first.dataset_id).project
        record, token = squash_op.squash_versions(
            self.backend, id_list, name=name, project=project or "default"
        )
        return Dataset(self, record, token)

    def gc(self, dry_run: bool = True, grace_seconds: float | None = None) -> GcPlan:
        """Plan (and unless ``dry_run``, execute) the removal of unreferenced content.

        Args:
            dry_run: Only report what would be freed (the default).
            grace_seconds: Keep objects younger than this (default ``DATAVER_GC_GRACE_SECONDS``).

        Returns:
            The :class:`~dataver.ops.gc.GcPlan`; ``freed_bytes`` says what is (or would be) freed.
        """
        plan = gc_op.plan_gc(self.backend, grace_seconds=grace_seconds)
        if dry_run:
            return plan
        plan.execute()
        return gc_op.GcPlan(plan.keys, plan.freed_bytes, plan.kept_objects, False, plan.store)

    def fsck(self, repair: bool = False, grace_seconds: float | None = None) -> FsckReport:
        """Check every record, name, claim, manifest and referenced byte range of the registry.

        Reads only, unless ``repair``: then it aborts Uploading versions whose writer stopped
        renewing its lease and removes leftovers of interrupted writers (orphan claims and
        dataset records, stale name pointers, journals of ended versions, temporary files),
        moves records holding values dataver never writes (``hostile-record``, e.g. ``../``
        in a field) to ``quarantine/``, and checks again. Damage (a missing or corrupt
        manifest or content object, a record that does not parse) is reported, never "fixed".

        Args:
            repair: Apply the safe fixes.
            grace_seconds: Leftovers younger than this may belong to a writer still at work
                and are left alone (default ``DATAVER_GC_GRACE_SECONDS``).

        Returns:
            The :class:`~dataver.ops.fsck.FsckReport`; ``ok`` is True when no problem remains.

        Raises:
            StorageError: The store could not be listed or read.

        Example:
            >>> report = reg.fsck()  # doctest: +SKIP
            >>> report.ok, [p.kind for p in report.problems]  # doctest: +SKIP
            (True, [])
        """
        return fsck_op.fsck(self.backend, repair=repair, grace_seconds=grace_seconds)

    def rename(self, project: str, name: str, new_name: str) -> None:
        """Rename dataset ``project/name`` to ``project/new_name`` (all its versions).

        Either spelling of a name finds the dataset (see :meth:`get`), and both parts are
        stored in NFC: renaming a dataset an older dataver stored in NFD to its own name
        normalizes it.
        """
        self._move(project, name, None, check_name(new_name))

    def move(self, project: str, name: str, new_project: str) -> None:
        """Move dataset ``project/name`` (all its versions) to ``new_project``."""
        self._move(project, name, check_name(new_project, "project"), None)

    def _move(self, project: str, name: str, new_project: str | None, new_name: str | None) -> None:
        dataset = repo.find_dataset(self.store, project, name)
        if dataset is None:
            raise DatasetNotFoundError(f"no dataset {project}/{name}", project=project, name=name)
        # NOTE: the part not changed is stored in NFC too: a dataset an older dataver
        # stored in NFD (or half in NFD) comes out of any rename or move normalized.
        to_project = nfc(dataset.project) if new_project is None else new_project
        to_name = nfc(dataset.name) if new_name is None else new_name
        taken = repo.find_dataset(self.store, to_project, to_name)
        if taken is not None and taken.id != dataset.id:
            # NOTE: the pointer's create would not see an older dataset stored in NFD.
            raise ConflictError(
                f"a dataset named {to_name!r} already exists in project {to_project!r}",
                project=to_project,
                name=to_name,
                reason="exists",
            )
        repo.rename_dataset(self.store, dataset, to_project, to_name)


def _parent_id(parent: object) -> str:
    version_id = parent.get("id") if isinstance(parent, Mapping) else getattr(parent, "id", parent)
    if not isinstance(version_id, str):
        raise ValidationError(f"a parent must be a version id or a Dataset, not {parent!r}")
    return version_id


def _states(states: Iterable[str | State] | None) -> frozenset[State] | None:
    if states is None:
        return None
    if isinstance(states, (str, State)):
        states = [states]
    return frozenset(parse_state(s) for s in states)


def _names(states: frozenset[State] | None) -> str:
    return "any" if states is None else "/".join(sorted(s.value for s in states))


def _matches(record: VersionRecord, states: frozenset[State] | None, tags: tuple[str, ...]) -> bool:
    return (states is None or record.state in states) and all(t in record.tags for t in tags)


def _what_is_there(store: Store) -> str:
    """What a location without a marker holds, in words: ``the folder does not exist``..."""
    marker = store.local_path(MARKER)
    if marker is None:
        return f"it holds no {MARKER}"
    folder = marker.parent
    if not folder.exists():
        return "the folder does not exist"
    if not folder.is_dir():
        return "it is not a folder"
    if not any(folder.iterdir()):
        return "the folder is empty"
    return f"the folder holds no {MARKER}"


def _check_marker(store: Store) -> bool:
    """Whether ``store`` holds a registry marker; refuse one of another format."""
    try:
        raw = store.read(MARKER)
    except ObjectNotFoundError:
        return False
    try:
        fmt = json.loads(raw).get("format")
    except (ValueError, AttributeError) as exc:
        raise FormatError(f"corrupt registry marker {MARKER} in {store.url}") from exc
    if fmt != FORMAT:
        raise FormatError(
            f"registry {store.url} has format {fmt!r}; this dataver reads format {FORMAT}",
            format=fmt,
        )
    return True
