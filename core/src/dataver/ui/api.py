"""The JSON API of the web page: GET routes only, each a thin call into :class:`Catalog`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dataver.errors import ValidationError
from dataver.objects.fetch import verify_bytes
from dataver.objects.ranged import RangeFile
from dataver.ui.catalog import MAX_LIMIT, MAX_OFFSET, Catalog
from dataver.ui.models import (
    DatasetSummary,
    DiffPage,
    FilesPage,
    Graph,
    Preview,
    TreePage,
    VersionDetail,
    VersionsPage,
)
from dataver.ui.preview import MAX_IMAGE_BYTES, image_type, preview

router = APIRouter(prefix="/api", tags=["dataver"])
"""The routes. A project may hold ``/`` (``team/vision``), so ``{project:path}`` takes every
segment before the dataset name, which never holds one."""

# NOTE: bounded, so a huge offset is a 422 rather than a ValueError from islice (a 500).
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Index of the first item.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Path = Annotated[str, Query(description="A dataset path (a folder for tree/files).")]


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


@router.get("/datasets", response_model=list[DatasetSummary])
def datasets(request: Request) -> list[DatasetSummary]:
    """Every dataset: project, name, version counts by state, newest usable version, sizes."""
    return _catalog(request).datasets()


@router.get("/datasets/{project:path}/{name}/versions", response_model=VersionsPage)
def versions(
    request: Request, project: str, name: str, offset: Offset = 0, limit: Limit = 100
) -> VersionsPage:
    """A dataset's versions, newest first."""
    return _catalog(request).versions(project, name, offset, limit)


@router.get("/datasets/{project:path}/{name}/lineage", response_model=Graph)
def dataset_lineage(request: Request, project: str, name: str) -> Graph:
    """Every version of a dataset and its parents, as nodes and parent -> child edges."""
    return _catalog(request).dataset_graph(project, name)


@router.get("/versions/{version_id}", response_model=VersionDetail)
def version(request: Request, version_id: str) -> VersionDetail:
    """One version: state, stats, parents, tags, metadata, provenance and its links."""
    return _catalog(request).version(version_id)


@router.get("/versions/{version_id}/lineage", response_model=Graph)
def version_lineage(request: Request, version_id: str) -> Graph:
    """A version and every ancestor, across datasets."""
    return _catalog(request).version_graph(version_id)


@router.get("/versions/{version_id}/tree", response_model=TreePage)
def tree(
    request: Request, version_id: str, path: Path = "", offset: Offset = 0, limit: Limit = 200
) -> TreePage:
    """One folder of a version: sub-folders (with file counts and sizes) then files, paged."""
    return _catalog(request).tree(version_id, path, offset, limit)


@router.get("/versions/{version_id}/files", response_model=FilesPage)
def files(
    request: Request, version_id: str, path: Path = "", offset: Offset = 0, limit: Limit = 200
) -> FilesPage:
    """A flat page of a version's files under ``path``, in path order."""
    return _catalog(request).files(version_id, path, offset, limit)


@router.get("/versions/{version_id}/diff", response_model=DiffPage)
def diff(
    request: Request,
    version_id: str,
    against: Annotated[
        str | None, Query(description="Another version id (default: the parents).")
    ] = None,
    limit: Limit = 200,
) -> DiffPage:
    """Added, removed, modified and renamed paths from ``against`` to the version."""
    return _catalog(request).diff(version_id, against, limit)


@router.get("/versions/{version_id}/preview", response_model=Preview)
def file_preview(request: Request, version_id: str, path: Path) -> Preview:
    """The first rows (CSV, TSV, Parquet), the start (text, JSON) or the image of a file."""
    catalog = _catalog(request)
    ds, entry = catalog.entry(version_id, path)
    # NOTE: built from root_path, not url_for: url_for cannot see a route of a sub-app that
    # another app (Airflow's API server) mounted.
    root = request.scope.get("root_path", "").rstrip("/")
    raw = f"{root}/api/versions/{quote(ds.id, safe='')}/raw?{urlencode({'path': entry.path})}"
    return preview(catalog.registry.store, entry, raw, ds.record.hash_algorithm)


@router.get("/versions/{version_id}/raw", response_class=Response)
def raw(request: Request, version_id: str, path: Path) -> Response:
    """The bytes of an image file (PNG, JPEG, GIF, WebP, BMP up to 16 MiB), verified.

    Other kinds are refused: the page never serves HTML, SVG or scripts from a dataset.
    """
    catalog = _catalog(request)
    ds, entry = catalog.entry(version_id, path)
    media = image_type(entry.path)
    if media is None or entry.url is not None:
        raise ValidationError(f"{entry.path} is not an image the page serves")
    if entry.size > MAX_IMAGE_BYTES:
        raise ValidationError(f"{entry.path} is larger than {MAX_IMAGE_BYTES} bytes")
    algorithm = ds.record.hash_algorithm
    data = RangeFile(catalog.registry.store, entry, algorithm).read_at(0, entry.size)
    verify_bytes(entry, data, algorithm)  # NOTE: raises IntegrityError -> 502
    headers = {"Content-Security-Policy": "default-src 'none'", "Cache-Control": "max-age=3600"}
    return Response(content=data, media_type=media, headers=headers)
