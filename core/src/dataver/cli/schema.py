"""The ``--json`` output of every command: the documented, stable keys.

``docs/cli.md`` is generated from these definitions and the tests check every command's JSON
against them, so the documentation and the output cannot drift apart. Keys are only ever
added, never renamed or removed, within a major version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

VERSION: Mapping[str, str] = MappingProxyType(
    {
        "id": "version id (32 hex characters)",
        "name": "dataset name",
        "project": "dataset project",
        "version": "semantic version string",
        "state": "uploading, failed, aborted, final or published",
        "uri": "`dataver://<project>/<name>@<version>`",
        "parents": "parent ids, in merge order",
        "tags": "tags",
        "stats": "`files`, `logical_bytes`, `stored_bytes`, `added`, `modified`, `removed`, "
        "`renamed`, `links`",
        "created_at": "ISO 8601 timestamp (UTC)",
    }
)
"""A *version object*: ``Dataset.to_dict()``."""

FILE: Mapping[str, str] = MappingProxyType(
    {
        "path": "dataset path",
        "size": "bytes (null for a removed path)",
        "hash": "content hash (null for a removed path or an unhashed link)",
        "link": "URL of an external link, else null",
    }
)


@dataclass(frozen=True)
class Shape:
    """What one command prints with ``--json``.

    Attributes:
        kind: ``object`` (keys below), ``version`` (a version object), ``array`` (of objects
            with the keys below) or ``versions`` (an array of version objects).
        keys: Top-level keys (of each element for an array) and what they hold.
    """

    kind: str
    keys: Mapping[str, str] = field(default_factory=dict)

    def key_names(self) -> set[str]:
        """The keys a document (or each element) of this shape has."""
        return set(VERSION if self.kind in {"version", "versions"} else self.keys)


def _object(**keys: str) -> Shape:
    return Shape("object", MappingProxyType(keys))


VERSION_SHAPE = Shape("version")
SHAPES: Mapping[str, Shape] = MappingProxyType(
    {
        "create": VERSION_SHAPE,
        "add": _object(id="version id", files="files added or changed", links="links added"),
        "remove": _object(
            id="version id",
            removed="files removed",
            unmatched="patterns that matched no file",
        ),
        "sync": _object(
            id="the version that mirrors the folder (null if nothing changed on several parents)",
            created="whether a new version was made and kept",
            changed="whether the folder differed from the version's starting point",
            removed="files removed",
            added="files added",
            modified="files modified",
            uploaded_bytes="bytes newly stored",
            version="version object of `id`, or null",
        ),
        "upload": _object(id="version id", uploaded_bytes="bytes newly stored"),
        "close": VERSION_SHAPE,
        "finalize": VERSION_SHAPE,
        "publish": VERSION_SHAPE,
        "abort": VERSION_SHAPE,
        "list": _object(
            id="version id",
            files="file objects sorted by path: `path`, `size`, `hash`, `link`; with "
            "`--modified` also `change` (added, modified, renamed, removed) and `from` (the "
            "old path of a rename, else null)",
            total_files="files listed (removed paths not counted)",
            total_bytes="their bytes",
        ),
        "search": Shape("versions"),
        "ls": Shape(
            "array",
            MappingProxyType(
                {
                    "project": "project",
                    "name": "dataset name",
                    "versions": "number of versions (any state)",
                    "latest": "version object of the highest final or published version, or null",
                    "updated_at": "creation time of the newest version, or null",
                }
            ),
        ),
        "show": _object(
            **dict(VERSION),
            description="free text or null",
            metadata="user metadata",
            provenance="who or what built the version",
            error="why it failed or was aborted, or null",
            stale="uploading, but its writer stopped renewing its lease",
            updated_at="ISO 8601 timestamp",
            finalized_at="ISO 8601 timestamp or null",
            published_at="ISO 8601 timestamp or null",
        ),
        "get": _object(path="local path of the files", version="version object"),
        "verify": _object(
            id="version id",
            ok="no damage left",
            damaged="paths found damaged",
            repaired="damaged cached files were re-fetched",
        ),
        "diff": _object(
            source="the version compared from, or null for the target's parents",
            target="the version compared",
            added="paths only in the target",
            removed="paths only in the source",
            modified="paths in both with other content",
            renamed="`[old, new]` pairs with the same content",
        ),
        "ui": _object(
            url="where the page is served (printed once, when the server starts)",
            registry="the registry it shows",
        ),
        "lineage": _object(
            id="the version asked for",
            parents="`{id: [parent ids]}` for it and every ancestor",
            versions="`{id: version object}`, null for a deleted ancestor",
        ),
        "squash": VERSION_SHAPE,
        "delete": _object(deleted="the deleted version's id"),
        "rename": _object(project="project", name="old name", new_name="new name"),
        "move": _object(project="old project", name="dataset name", new_project="new project"),
        "gc": _object(
            dry_run="true unless `--execute`",
            objects="objects deleted (or that would be)",
            freed_bytes="their bytes",
            kept_objects="objects kept (in use, or younger than the grace period)",
            keys="their storage keys",
        ),
        "fsck": _object(
            url="the registry checked",
            ok="no problem remains (the exit code is 1 otherwise)",
            datasets="dataset records read",
            versions="version records read",
            manifests="manifest roots and shards decoded and validated",
            entries="manifest entries checked",
            content="packs and objects found with the right size",
            problems="what is wrong: `kind`, `severity` (`error` or `leftover`), `key`, "
            "`message`, `version_id`, `repairable`",
            repaired="what `--repair` fixed (same keys)",
            in_progress="live uploads and young leftovers, left alone",
        ),
        "cache info": _object(
            root="cache folder",
            total_bytes="bytes on disk",
            blob_count="content blobs",
            blob_bytes="their bytes",
            unlinked_blob_bytes="bytes of blobs no tree links",
            trees="cached trees: `key`, `version_id`, `dataset`, `project`, `version`, "
            "`patterns`, `files`, `logical_bytes`, `own_bytes`, `last_used`, `in_use`",
            leftovers="half-built trees and downloads of killed processes",
        ),
        "cache prune": _object(
            dry_run="true with `--dry-run`",
            max_size="the byte budget, or null",
            total_bytes="bytes before pruning",
            trees="evicted trees: `key`, `blobs`, `freed_bytes`",
            blobs="evicted unlinked blobs",
            leftovers="removed leftovers",
            freed_bytes="bytes freed",
            kept_in_use="trees kept because a process holds them",
        ),
        "metadata get": _object(
            id="version id",
            metadata="all metadata (without KEY)",
            key="KEY (with KEY)",
            value="its value (with KEY)",
        ),
        "metadata set": _object(id="version id", metadata="all metadata after the change"),
        "metadata unset": _object(id="version id", metadata="all metadata after the change"),
        "tag add": _object(id="version id", tags="all tags after the change"),
        "tag remove": _object(id="version id", tags="all tags after the change"),
    }
)
