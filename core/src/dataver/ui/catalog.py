"""The read model behind the web page: datasets, versions, folders, diffs and lineage.

Everything is read from the registry on request; only what cannot change is cached:
manifests are content-addressed, so a folder listing keyed by (manifest address, folder)
and a diff keyed by both manifest addresses stay true for ever. Records are read afresh
(a version can still be published, tagged or aborted).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from dataver.diff import Diff, diff_manifests
from dataver.errors import ValidationError, VersionNotFoundError
from dataver.paths import normalize_prefix
from dataver.ui.models import (
    DatasetSummary,
    DiffPage,
    Edge,
    FileItem,
    FilesPage,
    Graph,
    Link,
    Node,
    TreeItem,
    TreePage,
    VersionDetail,
    VersionsPage,
    VersionSummary,
)
from dataver.ui.preview import find_entry
from dataver.versions.records import check_name
from dataver.versions.state import State

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from dataver.api import Dataset, Registry
    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest

MAX_LIMIT = 1000
"""The most items one page may hold: pages keep responses small whatever the version's size."""
MAX_OFFSET = 1_000_000_000
"""The largest offset a page may start at: beyond any real version (a billion files), and far
below what ``islice`` takes (``sys.maxsize``)."""
_USABLE = (State.FINAL, State.PUBLISHED)
_K = TypeVar("_K")
_V = TypeVar("_V")


class Catalog:
    """Read-only queries over one registry, shaped for the web API.

    Args:
        registry: The registry to show.
        cache_size: How many folder listings and diffs to keep decoded in memory.
    """

    def __init__(self, registry: Registry, cache_size: int = 64) -> None:
        self.registry = registry
        self._listings: _Memo[tuple[Content, str], Listing] = _Memo(cache_size)
        self._diffs: _Memo[tuple[Content, Content], Diff] = _Memo(cache_size)

    # ------------------------------------------------------------------ datasets, versions
    def datasets(self) -> list[DatasetSummary]:
        """Every dataset with at least one version, sorted by project and name."""
        by_dataset: dict[tuple[str, str], list[Dataset]] = defaultdict(list)
        for ds in self.registry.list():
            by_dataset[(ds.project, ds.name)].append(ds)
        return [_dataset_summary(versions) for _, versions in sorted(by_dataset.items())]

    def versions(self, project: str, name: str, offset: int, limit: int) -> VersionsPage:
        """A dataset's versions, newest first.

        Raises:
            VersionNotFoundError: The dataset has no versions.
        """
        found = self._dataset(project, name)
        offset, limit = _offset(offset), _limit(limit)
        page = found[offset : offset + limit]
        return VersionsPage(
            total=len(found), offset=offset, limit=limit, items=tuple(map(summary, page))
        )

    def version(self, version_id: str) -> VersionDetail:
        """One version in full."""
        return detail(self._get(version_id))

    # ------------------------------------------------------------------ content
    def tree(self, version_id: str, folder: str, offset: int, limit: int) -> TreePage:
        """The children of ``folder`` ("" for the top) in a version, folders first.

        Raises:
            NotFoundError: No such version, or no such folder in it.
        """
        ds = self._get(version_id)
        folder = normalize_prefix(folder)
        listing = self._listing(ds, folder)
        total = len(listing.folders) + listing.files
        if folder and not total:
            raise VersionNotFoundError(f"version {version_id} has no folder {folder!r}")
        offset, limit = _offset(offset), _limit(limit)
        page = list(listing.folders[offset : offset + limit])
        if len(page) < limit and offset + len(page) < total:
            # NOTE: the folder's own files are read again for each page rather than held:
            # a flat folder of a million files would keep a million rows per listing.
            start = max(offset - len(listing.folders), 0)
            files = _direct_files(ds.content().iter_folder(folder), folder)
            page += islice(files, start, start + limit - len(page))
        return TreePage(
            version_id=ds.id,
            path=folder,
            files=listing.below,
            bytes=listing.bytes,
            total=total,
            offset=offset,
            limit=limit,
            items=tuple(TreeItem(**row._asdict()) for row in page),
        )

    def files(self, version_id: str, folder: str, offset: int, limit: int) -> FilesPage:
        """A flat page of the files under ``folder``, in path order."""
        offset, limit = _offset(offset), _limit(limit)
        ds = self._get(version_id)
        folder = normalize_prefix(folder)
        manifest = self._manifest(ds)
        total = manifest.root.files if not folder else self._listing(ds, folder).below
        page = islice(manifest.iter_folder(folder), offset, offset + limit)
        items = tuple(FileItem(path=e.path, size=e.size, hash=e.hash, link=e.url) for e in page)
        return FilesPage(version_id=ds.id, total=total, offset=offset, limit=limit, items=items)

    def diff(self, version_id: str, against: str | None, limit: int) -> DiffPage:
        """What changed from ``against`` (default: the version's parents) to the version."""
        ds = self._get(version_id)
        record = ds.record
        if against is None:
            old = ds.parents_content
            key = (Content(record.base_manifest, None, record.hash_algorithm), _content(ds))
        else:
            base = self._get(against)
            old, key = base.content, (_content(base), _content(ds))
        diff = self._diffs.get(key, lambda: diff_manifests(old(), ds.content()))
        return _diff_page(ds.id, against, diff, _limit(limit))

    # ------------------------------------------------------------------ lineage
    def dataset_graph(self, project: str, name: str) -> Graph:
        """Every version of a dataset, plus the versions of other datasets it descends from."""
        versions = self._dataset(project, name)
        nodes = {ds.id: _node(ds) for ds in versions}
        edges = [Edge(parent=p, child=ds.id) for ds in versions for p in ds.parents]
        for parent in {e.parent for e in edges} - nodes.keys():
            nodes[parent] = self._node(parent)
        return Graph(nodes=tuple(nodes.values()), edges=tuple(edges))

    def version_graph(self, version_id: str) -> Graph:
        """A version and all its ancestors, across datasets."""
        ancestry = self._get(version_id).lineage()
        nodes = tuple(self._node(v) for v in ancestry)
        edges = tuple(Edge(parent=p, child=c) for c, ps in ancestry.items() for p in ps)
        return Graph(nodes=nodes, edges=edges)

    # ------------------------------------------------------------------ helpers
    def _dataset(self, project: str, name: str) -> list[Dataset]:
        """Every version of one dataset, newest first.

        Raises:
            ValidationError: A malformed project or name (an empty one would list them all).
            VersionNotFoundError: The dataset has no versions.
        """
        check_name(project, "project")
        check_name(name)
        found = self.registry.list(project=project, name=name)
        if not found:
            raise VersionNotFoundError(f"no dataset {project}/{name}")
        return found

    def _get(self, version_id: str) -> Dataset:
        if not version_id or "/" in version_id or version_id.startswith("."):
            raise ValidationError(f"not a version id: {version_id!r}")
        return self.registry.get(version_id, states=None)

    def _node(self, version_id: str) -> Node:
        try:
            return _node(self._get(version_id))
        except VersionNotFoundError:
            return Node(
                id=version_id,
                project="",
                name="",
                version="?",
                state="deleted",
                created_at=None,
                missing=True,
            )

    def entry(self, version_id: str, path: str) -> tuple[Dataset, Entry]:
        """A version and the manifest entry of one of its files.

        Raises:
            ValidationError: A malformed id, or an unsafe path.
            NotFoundError: No such version, or no such file in it.
        """
        ds = self._get(version_id)
        return ds, find_entry(self._manifest(ds), path)

    def _manifest(self, ds: Dataset) -> Manifest:
        return ds.content()

    def _listing(self, ds: Dataset, folder: str) -> Listing:
        """The subfolders of ``folder`` and what it holds; one pass over its entries."""
        return self._listings.get(
            (_content(ds), folder), lambda: _listing(ds.content().iter_folder(folder), folder)
        )


class _Memo(Generic[_K, _V]):
    """The last ``size`` results by key (least recently used out): for what never changes."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K, compute: Callable[[], _V]) -> _V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class Content(NamedTuple):
    """What a version holds, by address: immutable, so listings and diffs of it are cached
    under it (the key only: the content itself is read through the public Dataset API)."""

    manifest: str | None
    staged: str | None
    algorithm: str


def _content(ds: Dataset) -> Content:
    record = ds.record
    return Content(record.manifest, record.staged, record.hash_algorithm)


class Child(NamedTuple):
    """A row of a folder listing; a plain tuple, made a :class:`TreeItem` only for the page
    that is returned."""

    name: str
    path: str
    kind: str
    files: int
    bytes: int
    link: str | None


class Listing(NamedTuple):
    """A folder's subfolders (sorted, with what each holds), the number of its own files,
    and the files and bytes below it. Its own files are not kept: they are read again, in
    path order, for the page that shows them."""

    folders: tuple[Child, ...]
    files: int
    below: int
    bytes: int


def _listing(entries: Iterable[Entry], folder: str) -> Listing:
    skip = len(folder) + 1 if folder else 0
    lead = f"{folder}/" if folder else ""
    folders: dict[str, list[int]] = {}
    own = below = size = 0
    for entry in entries:
        below += 1
        size += entry.size
        head, sep, _ = entry.path[skip:].partition("/")
        if sep:
            counts = folders.setdefault(head, [0, 0])
            counts[0] += 1
            counts[1] += entry.size
        else:
            own += 1
    subfolders = tuple(
        Child(name, lead + name, "folder", c[0], c[1], None) for name, c in sorted(folders.items())
    )
    return Listing(subfolders, own, below, size)


def _direct_files(entries: Iterable[Entry], folder: str) -> Iterator[Child]:
    """The files directly in ``folder``, in path order."""
    skip = len(folder) + 1 if folder else 0
    for entry in entries:
        name = entry.path[skip:]
        if "/" not in name:
            yield Child(name, entry.path, "file", 1, entry.size, entry.url)


def summary(ds: Dataset) -> VersionSummary:
    """The listing form of a version."""
    record = ds.record
    return VersionSummary(
        id=ds.id,
        project=ds.project,
        name=ds.name,
        version=ds.version,
        state=ds.state.value,
        created_at=record.created_at,
        parents=record.parents,
        tags=record.tags,
        stats=record.stats,
        uri=ds.uri,
    )


def detail(ds: Dataset) -> VersionDetail:
    """The full form of a version, with links found in its provenance."""
    record = ds.record
    return VersionDetail(
        **summary(ds).model_dump(),
        dataset_id=record.dataset_id,
        description=record.description,
        metadata=dict(record.metadata),
        provenance=dict(record.provenance),
        links=provenance_links(dict(record.provenance)),
        error=record.error,
        stale=ds.is_stale,
        finalized_at=record.finalized_at,
        published_at=record.published_at,
        hash_algorithm=record.hash_algorithm,
    )


def provenance_links(provenance: dict[str, Any]) -> tuple[Link, ...]:
    """Links to what built a version: every http(s) URL in its provenance, labelled by key.

    Integrations store e.g. the Airflow task instance's or the Prefect flow run's URL there.
    Only http and https are linked: a ``javascript:`` value must never become a link.
    """
    links = []
    for key, value in sorted(_flatten(provenance)):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            links.append(Link(label=key, url=value))
    return tuple(links)


def _flatten(value: dict[str, Any], lead: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, item in value.items():
        name = f"{lead}{key}"
        if isinstance(item, dict):
            out.extend(_flatten(item, f"{name}."))
        else:
            out.append((name, item))
    return out


def _dataset_summary(versions: list[Dataset]) -> DatasetSummary:
    newest = versions[0]  # NOTE: Registry.list is newest first
    usable = [v for v in versions if v.state in _USABLE]
    return DatasetSummary(
        project=newest.project,
        name=newest.name,
        id=newest.record.dataset_id,
        versions=len(versions),
        states=dict(Counter(v.state.value for v in versions)),
        latest=summary(usable[0]) if usable else None,
        newest=summary(newest),
        stored_bytes=sum(v.stats.stored_bytes for v in versions),
    )


def _node(ds: Dataset) -> Node:
    return Node(
        id=ds.id,
        project=ds.project,
        name=ds.name,
        version=ds.version,
        state=ds.state.value,
        created_at=ds.record.created_at,
    )


def _diff_page(version_id: str, against: str | None, diff: Diff, limit: int) -> DiffPage:
    counts = {
        "added": len(diff.added),
        "removed": len(diff.removed),
        "modified": len(diff.modified),
        "renamed": len(diff.renamed),
    }
    return DiffPage(
        version_id=version_id,
        against=against,
        counts=counts,
        added=diff.added[:limit],
        removed=diff.removed[:limit],
        modified=diff.modified[:limit],
        renamed=diff.renamed[:limit],
        limit=limit,
        truncated=max(counts.values(), default=0) > limit,
    )


def _offset(offset: int) -> int:
    if offset < 0 or offset > MAX_OFFSET:
        raise ValidationError(f"offset must be between 0 and {MAX_OFFSET}, got {offset}")
    return offset


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit
