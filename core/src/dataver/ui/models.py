"""The JSON shapes of the web API (frozen pydantic models; the OpenAPI schema comes from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dataver.versions.records import Stats


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class VersionSummary(_Frozen):
    """One version as listed: identity, state, parents and stats."""

    id: str
    project: str
    name: str
    version: str
    state: str
    created_at: datetime
    parents: tuple[str, ...]
    tags: tuple[str, ...]
    stats: Stats
    uri: str


class Link(_Frozen):
    """A link shown with a version (e.g. the Airflow task or Prefect flow run that built it)."""

    label: str
    url: str


class VersionDetail(VersionSummary):
    """One version in full: description, metadata, provenance and where it came from."""

    dataset_id: str
    description: str | None
    metadata: dict[str, Any]
    provenance: dict[str, Any]
    links: tuple[Link, ...]
    error: str | None
    stale: bool
    finalized_at: datetime | None
    published_at: datetime | None
    hash_algorithm: str


class DatasetSummary(_Frozen):
    """A dataset: its newest usable version, how many versions in which states, sizes."""

    project: str
    name: str
    id: str
    versions: int
    states: dict[str, int]
    latest: VersionSummary | None
    newest: VersionSummary
    stored_bytes: int


class Page(_Frozen):
    """Paging of a list: ``items[offset:offset+limit]`` of ``total``."""

    total: int
    offset: int
    limit: int


class VersionsPage(Page):
    """A dataset's versions, newest first."""

    items: tuple[VersionSummary, ...]


class TreeItem(_Frozen):
    """A child of a folder: a sub-folder (with totals below it) or a file."""

    name: str
    path: str
    kind: Literal["folder", "file"]
    files: int
    bytes: int
    link: str | None = None


class TreePage(Page):
    """One folder of a version: its children (folders first), and totals below it."""

    version_id: str
    path: str
    files: int
    bytes: int
    items: tuple[TreeItem, ...]


class FileItem(_Frozen):
    """A file of a version."""

    path: str
    size: int
    hash: str | None
    link: str | None


class FilesPage(Page):
    """A flat, sorted page of a version's files (optionally under a folder)."""

    version_id: str
    items: tuple[FileItem, ...]


class DiffPage(_Frozen):
    """What changed from a baseline (the parents, or another version) to a version.

    Each list holds at most ``limit`` paths; ``counts`` has the full numbers.
    """

    version_id: str
    against: str | None
    counts: dict[str, int]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    modified: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]
    limit: int
    truncated: bool


class Node(_Frozen):
    """A version in a lineage graph."""

    id: str
    project: str
    name: str
    version: str
    state: str
    created_at: datetime | None
    missing: bool = False


class Edge(_Frozen):
    """Parent -> child."""

    parent: str
    child: str


class Graph(_Frozen):
    """A lineage graph: versions and parent -> child edges."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


class Preview(_Frozen):
    """The start of a file, ready to show.

    ``kind``: ``table`` (CSV, TSV, Parquet: ``columns`` and ``rows``), ``json``, ``text``,
    ``image`` (``raw`` is the URL of its bytes), ``binary`` or ``link`` (nothing read).
    """

    path: str
    size: int
    kind: Literal["table", "json", "text", "image", "binary", "link"]
    format: str
    truncated: bool = False
    text: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    raw: str | None = None
    message: str | None = None
