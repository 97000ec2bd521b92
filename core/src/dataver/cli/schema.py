"""The ``--json`` output of every command: one frozen pydantic model per document.

The commands build their JSON through these models (``Model(...)``, printed by
:func:`dataver.cli.output.emit`), ``docs/cli.md`` is generated from the fields' descriptions,
and the tests check every command's JSON against them, so the output and its documentation
cannot drift apart. Keys are only ever added, never renamed or removed, within a major version.

NOTE: commands import this module only when they print JSON, and the models build their
validators on first use (``defer_build``): building them all costs tens of milliseconds, which
``dataver --help`` and every other command would otherwise pay.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from dataver import Dataset


class Output(BaseModel):
    """A document (or an object inside one) that a command prints with ``--json``."""

    # NOTE: extra="forbid": a key the model does not document is an error, not output.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


def keys_of(model: type[Output]) -> Mapping[str, str]:
    """The keys a model's JSON has (aliases where set), and what each holds.

    Raises:
        TypeError: A field has no description (every key is documented).
    """
    keys: dict[str, str] = {}
    for name, info in model.model_fields.items():
        if not info.description:
            raise TypeError(f"{model.__name__}.{name} has no description")
        keys[info.alias or name] = info.description
    return MappingProxyType(keys)


# ----------------------------------------------------------------------- shared objects


class StatsObject(Output):
    """The ``stats`` of a version object."""

    files: int = Field(description="files in the version (while uploading: so far)")
    logical_bytes: int = Field(description="their bytes")
    stored_bytes: int = Field(description="bytes it cost to store (content new to the registry)")
    added: int = Field(description="files added against the parents (counted at finalize)")
    modified: int = Field(description="files modified against the parents (at finalize)")
    removed: int = Field(description="files removed against the parents (at finalize)")
    renamed: int = Field(description="files renamed against the parents (at finalize)")
    links: int = Field(description="external links among the files")


class VersionObject(Output):
    """A *version object*: ``Dataset.to_dict()``."""

    id: str = Field(description="version id (32 hex characters)")
    name: str = Field(description="dataset name")
    project: str = Field(description="dataset project")
    version: str = Field(description="semantic version string")
    state: str = Field(description="uploading, failed, aborted, final or published")
    uri: str = Field(description="`dataver://<project>/<name>@<version>`")
    parents: tuple[str, ...] = Field(description="parent ids, in merge order")
    tags: tuple[str, ...] = Field(description="tags")
    stats: StatsObject = Field(
        description="`files`, `logical_bytes`, `stored_bytes`, `added`, `modified`, `removed`, "
        "`renamed`, `links`"
    )
    created_at: str = Field(description="ISO 8601 timestamp (UTC)")

    @classmethod
    def of(cls, ds: "Dataset") -> "VersionObject":
        """The version object of ``ds``."""
        return cls.model_validate(ds.to_dict())


class FileObject(Output):
    """A *file object*: one file of a version (``dataver list``)."""

    path: str = Field(description="dataset path")
    size: int | None = Field(description="bytes (null for a removed path)")
    hash: str | None = Field(
        description="content hash (null for a removed path or an unhashed link)"
    )
    link: str | None = Field(description="URL of an external link, else null")


class ChangedFile(FileObject):
    """A file object of ``dataver list --modified``: what changed, and how."""

    change: str = Field(description="added, modified, renamed or removed")
    from_: str | None = Field(alias="from", description="the old path of a rename, else null")


VERSION = keys_of(VersionObject)
"""The keys of a version object, and what each holds."""
FILE = keys_of(FileObject)
"""The keys of a file object, and what each holds."""


# ----------------------------------------------------------------------- build a version


class AddOutput(Output):
    id: str = Field(description="version id")
    files: int = Field(description="files added or changed")
    links: int = Field(description="links added")


class RemoveOutput(Output):
    id: str = Field(description="version id")
    removed: int = Field(description="files removed")
    unmatched: tuple[str, ...] = Field(description="patterns that matched no file")


class SyncOutput(Output):
    id: str | None = Field(description="the version that mirrors the folder (null when skipped)")
    created: bool = Field(description="whether a new version was made")
    changed: bool = Field(
        description="whether the folder differed from the version's starting point"
    )
    removed: int = Field(description="files removed")
    added: int = Field(description="files added")
    modified: int = Field(description="files modified")
    uploaded_bytes: int = Field(description="bytes newly stored")
    outcome: str = Field(
        description="`built`, `reused` (unchanged: the parent), `skipped` (unchanged, "
        "`--unchanged skip`) or `synced` (with `--id`)"
    )
    version: VersionObject | None = Field(description="version object of `id`, or null")


class UploadOutput(Output):
    id: str = Field(description="version id")
    uploaded_bytes: int = Field(description="bytes newly stored")


class PartObject(Output):
    """One part of ``dataver partition``: ``dataver.Part.to_dict()``."""

    index: int = Field(description="which part, from 0")
    count: int = Field(description="how many parts (`--parts`)")
    start: str | None = Field(
        description="first relative path of the part (null for part 0: from the beginning)"
    )
    stop: str | None = Field(
        description="first relative path of the next part (null for the last part: to the end)"
    )
    files: int = Field(description="files in the part when it was computed")
    bytes: int = Field(description="their bytes")
    source: str | None = Field(description="the folder or URL the parts were computed from")
    by: str = Field(description="what the parts are balanced by: `count` or `bytes`")


# ----------------------------------------------------------------------- read versions

FileRow = Annotated[FileObject | ChangedFile, Field(union_mode="left_to_right")]
"""A plain file object, or (``--modified``) a changed one. NOTE: left to right, a plain row
is matched by its first try: a listing of a million files pays no second validation."""


class ListOutput(Output):
    id: str = Field(description="version id")
    files: tuple[FileRow, ...] = Field(
        description="file objects sorted by path: `path`, `size`, `hash`, `link`; with "
        "`--modified` also `change` (added, modified, renamed, removed) and `from` (the "
        "old path of a rename, else null)"
    )
    total_files: int = Field(description="files listed (removed paths not counted)")
    total_bytes: int = Field(description="their bytes")


class DatasetRow(Output):
    project: str = Field(description="project")
    name: str = Field(description="dataset name")
    versions: int = Field(description="number of versions (any state)")
    latest: VersionObject | None = Field(
        description="version object of the highest final or published version, or null"
    )
    updated_at: str | None = Field(description="creation time of the newest version, or null")


class ShowOutput(VersionObject):
    description: str | None = Field(description="free text or null")
    metadata: dict[str, Any] = Field(description="user metadata")
    provenance: dict[str, Any] = Field(description="who or what built the version")
    error: str | None = Field(description="why it failed or was aborted, or null")
    stale: bool = Field(description="uploading, but its writer stopped renewing its lease")
    updated_at: str = Field(description="ISO 8601 timestamp")
    finalized_at: str | None = Field(description="ISO 8601 timestamp or null")
    published_at: str | None = Field(description="ISO 8601 timestamp or null")


class GetOutput(Output):
    path: str = Field(description="local path of the files")
    version: VersionObject = Field(description="version object")


class VerifyOutput(Output):
    id: str = Field(description="version id")
    ok: bool = Field(description="no damage left")
    damaged: tuple[str, ...] = Field(description="paths found damaged")
    repaired: bool = Field(description="damaged cached files were re-fetched")


class DiffOutput(Output):
    source: str | None = Field(
        description="the version compared from, or null for the target's parents"
    )
    target: str = Field(description="the version compared")
    added: tuple[str, ...] = Field(description="paths only in the target")
    removed: tuple[str, ...] = Field(description="paths only in the source")
    modified: tuple[str, ...] = Field(description="paths in both with other content")
    renamed: tuple[tuple[str, str], ...] = Field(
        description="`[old, new]` pairs with the same content"
    )


class UiOutput(Output):
    url: str = Field(description="where the page is served (printed once, when the server starts)")
    registry: str = Field(description="the registry it shows")


class LineageOutput(Output):
    id: str = Field(description="the version asked for")
    parents: dict[str, tuple[str, ...]] = Field(
        description="`{id: [parent ids]}` for it and every ancestor"
    )
    versions: dict[str, VersionObject | None] = Field(
        description="`{id: version object}`, null for a deleted ancestor"
    )


# ----------------------------------------------------------------------- manage datasets


class DeleteOutput(Output):
    deleted: str = Field(description="the deleted version's id")


class RenameOutput(Output):
    project: str = Field(description="project")
    name: str = Field(description="old name")
    new_name: str = Field(description="new name")


class MoveOutput(Output):
    project: str = Field(description="old project")
    name: str = Field(description="dataset name")
    new_project: str = Field(description="new project")


class GcOutput(Output):
    dry_run: bool = Field(description="true unless `--execute`")
    objects: int = Field(description="objects deleted (or that would be)")
    freed_bytes: int = Field(description="their bytes")
    kept_objects: int = Field(description="objects kept (in use, or younger than the grace period)")
    keys: tuple[str, ...] = Field(description="their storage keys")


class FsckProblemObject(Output):
    """One problem ``fsck`` found (or repaired)."""

    kind: str = Field(description="what is wrong, e.g. `stale-version`")
    severity: str = Field(description="`error` or `leftover`")
    key: str = Field(description="the storage key concerned")
    message: str = Field(description="one sentence a person can act on")
    version_id: str | None = Field(description="the version concerned, or null")
    repairable: bool = Field(description="whether `fsck --repair` fixes it")


class FsckOutput(Output):
    url: str = Field(description="the registry checked")
    ok: bool = Field(description="no problem remains (the exit code is 1 otherwise)")
    datasets: int = Field(description="dataset records read")
    versions: int = Field(description="version records read")
    manifests: int = Field(description="manifest roots and shards decoded and validated")
    entries: int = Field(description="manifest entries checked")
    content: int = Field(description="packs and objects found with the right size")
    problems: tuple[FsckProblemObject, ...] = Field(
        description="what is wrong: `kind`, `severity` (`error` or `leftover`), `key`, "
        "`message`, `version_id`, `repairable`"
    )
    repaired: tuple[FsckProblemObject, ...] = Field(description="what `--repair` fixed (same keys)")
    in_progress: tuple[str, ...] = Field(description="live uploads and young leftovers, left alone")


class MetadataOutput(Output):
    id: str = Field(description="version id")
    metadata: dict[str, Any] = Field(description="all metadata after the change")


class MetadataAllOutput(Output):
    id: str = Field(description="version id")
    metadata: dict[str, Any] = Field(description="all metadata (without KEY)")


class MetadataValueOutput(Output):
    id: str = Field(description="version id")
    key: str = Field(description="KEY (with KEY)")
    value: Any = Field(description="its value (with KEY)")


class TagsOutput(Output):
    id: str = Field(description="version id")
    tags: tuple[str, ...] = Field(description="all tags after the change")


# ----------------------------------------------------------------------- local cache


class CachedTreeObject(Output):
    """One materialised tree of ``cache info``."""

    key: str = Field(description="cache key: the version id (and `~digest` for a subset)")
    version_id: str = Field(description="version id")
    dataset: str = Field(description="dataset name")
    project: str = Field(description="dataset project")
    version: str = Field(description="semantic version string")
    patterns: tuple[str, ...] = Field(description="the subset's globs (none: every file)")
    files: int = Field(description="files in the tree")
    logical_bytes: int = Field(description="their bytes")
    own_bytes: int = Field(description="bytes freed by evicting this tree alone")
    last_used: datetime = Field(description="ISO 8601 timestamp of its last use")
    in_use: bool = Field(description="a live process holds it")


class CacheInfoOutput(Output):
    root: str = Field(description="cache folder")
    total_bytes: int = Field(description="bytes on disk")
    blob_count: int = Field(description="content blobs")
    blob_bytes: int = Field(description="their bytes")
    unlinked_blob_bytes: int = Field(description="bytes of blobs no tree links")
    trees: tuple[CachedTreeObject, ...] = Field(
        description="cached trees: `key`, `version_id`, `dataset`, `project`, `version`, "
        "`patterns`, `files`, `logical_bytes`, `own_bytes`, `last_used`, `in_use`"
    )
    leftovers: tuple[str, ...] = Field(
        description="half-built trees and downloads of killed processes"
    )


class PrunedTreeObject(Output):
    """One tree ``cache prune`` evicts."""

    key: str = Field(description="cache key of the tree")
    blobs: tuple[str, ...] = Field(description="blobs only it links, evicted with it")
    freed_bytes: int = Field(description="bytes freed")


class CachePruneOutput(Output):
    dry_run: bool = Field(description="true with `--dry-run`")
    max_size: int | None = Field(description="the byte budget, or null")
    total_bytes: int = Field(description="bytes before pruning")
    trees: tuple[PrunedTreeObject, ...] = Field(
        description="evicted trees: `key`, `blobs`, `freed_bytes`"
    )
    blobs: tuple[str, ...] = Field(description="evicted unlinked blobs")
    leftovers: tuple[str, ...] = Field(description="removed leftovers")
    freed_bytes: int = Field(description="bytes freed")
    kept_in_use: tuple[str, ...] = Field(description="trees kept because a process holds them")


# ----------------------------------------------------------------------- what each command prints


@dataclass(frozen=True)
class Shape:
    """What one command prints with ``--json``.

    Attributes:
        models: The model of the document (of each element, for an array). ``metadata get``
            prints one of two documents, so it has two.
        many: An array of such documents (``search``, ``ls``), not one.
    """

    models: tuple[type[Output], ...]
    many: bool = False

    @property
    def kind(self) -> str:
        """``object``, ``version`` (a version object), ``array`` (of objects) or ``versions``
        (an array of version objects): how docs/cli.md introduces the keys."""
        if self.models == (VersionObject,):
            return "versions" if self.many else "version"
        return "array" if self.many else "object"

    @property
    def keys(self) -> Mapping[str, str]:
        """Top-level keys (of each element for an array) and what they hold."""
        return MappingProxyType({k: v for m in self.models for k, v in keys_of(m).items()})

    def key_names(self) -> set[str]:
        """The keys a document (or each element) of this shape may have."""
        return set(self.keys)

    def validate(self, document: Any) -> None:
        """Check ``document`` (printed JSON, parsed) against the models.

        Raises:
            ValueError: It has a key the models do not document, lacks one, or holds a value
                of another type (``pydantic.ValidationError`` is a ``ValueError``).
        """
        items = document if self.many else [document]
        if not isinstance(items, list):
            raise ValueError(f"want a JSON array, got {type(items).__name__}")
        for item in items:
            errors: list[ValueError] = []
            for model in self.models:
                try:
                    model.model_validate(item)
                except ValueError as exc:
                    errors.append(exc)
            if len(errors) == len(self.models):
                raise errors[0]


VERSION_SHAPE = Shape((VersionObject,))
SHAPES: Mapping[str, Shape] = MappingProxyType(
    {
        "create": VERSION_SHAPE,
        "add": Shape((AddOutput,)),
        "remove": Shape((RemoveOutput,)),
        "sync": Shape((SyncOutput,)),
        "upload": Shape((UploadOutput,)),
        "close": VERSION_SHAPE,
        "finalize": VERSION_SHAPE,
        "publish": VERSION_SHAPE,
        "abort": VERSION_SHAPE,
        "partition": Shape((PartObject,), many=True),
        "list": Shape((ListOutput,)),
        "search": Shape((VersionObject,), many=True),
        "ls": Shape((DatasetRow,), many=True),
        "show": Shape((ShowOutput,)),
        "get": Shape((GetOutput,)),
        "verify": Shape((VerifyOutput,)),
        "diff": Shape((DiffOutput,)),
        "ui": Shape((UiOutput,)),
        "lineage": Shape((LineageOutput,)),
        "squash": VERSION_SHAPE,
        "delete": Shape((DeleteOutput,)),
        "rename": Shape((RenameOutput,)),
        "move": Shape((MoveOutput,)),
        "gc": Shape((GcOutput,)),
        "fsck": Shape((FsckOutput,)),
        "cache info": Shape((CacheInfoOutput,)),
        "cache prune": Shape((CachePruneOutput,)),
        "metadata get": Shape((MetadataAllOutput, MetadataValueOutput)),
        "metadata set": Shape((MetadataOutput,)),
        "metadata unset": Shape((MetadataOutput,)),
        "tag add": Shape((TagsOutput,)),
        "tag remove": Shape((TagsOutput,)),
    }
)
"""Every command's ``--json`` shape, by command path."""
