"""Airflow assets for dataver datasets: ``Asset("dataver://<project>/<name>")``.

An asset stands for a dataset (every version of ``project/name``), not for one version: each
version the operators finalize or publish is an asset *event* whose ``extra`` says which
version it was (:func:`asset_extra`). Airflow finds the URI normalizer, the asset factory and
the OpenLineage converter here through the provider's ``asset-uris`` entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from airflow.sdk import Asset, AssetAlias

import dataver
from dataver.versions.records import check_name

if TYPE_CHECKING:
    from urllib.parse import SplitResult

SCHEME = "dataver"

# Operators whose dataset is only known at run time (templated names, a version id from XCom)
# emit their events through this alias; consumers still schedule on the dataset's Asset.
DATAVER_ASSET_ALIAS = "dataver-versions"


def asset_uri(project: str, name: str) -> str:
    """The asset URI of dataset ``project/name``: ``dataver://<project>/<name>``.

    Both parts are percent-encoded, so a name with ``/``-free special characters (spaces,
    ``@``, ``:``) still gives one unambiguous URI.

    Example:
        >>> asset_uri("vision", "images")
        'dataver://vision/images'
    """
    return f"{SCHEME}://{quote(project, safe='')}/{quote(name, safe='')}"


def dataset_asset(project: str, name: str) -> Asset:
    """The :class:`~airflow.sdk.Asset` of dataset ``project/name`` (name and URI alike)."""
    uri = asset_uri(project, name)
    return Asset(uri=uri, name=uri)


def create_asset(
    *, project: str = "default", name: str, extra: dict[str, Any] | None = None
) -> Asset:
    """Asset factory registered for the ``dataver`` scheme (``asset-uris`` ``factory``).

    Args:
        project: Dataset project.
        name: Dataset name.
        extra: Static extra of the asset.

    Returns:
        ``Asset("dataver://<project>/<name>")``.
    """
    uri = asset_uri(project, name)
    return Asset(uri=uri, name=uri, extra=extra)


def parse_asset_uri(uri: str) -> tuple[str, str]:
    """``(project, name)`` of a ``dataver://<project>/<name>`` URI.

    Raises:
        ValueError: Not a dataver dataset URI.
    """
    from urllib.parse import urlsplit

    project, name = _parts(urlsplit(uri))
    return project, name


def _parts(parts: SplitResult) -> tuple[str, str]:
    if parts.scheme != SCHEME:
        raise ValueError(f"not a dataver asset URI (scheme {parts.scheme!r}, expected 'dataver')")
    project, name = unquote(parts.netloc), unquote(parts.path.removeprefix("/"))
    where = f"{SCHEME}://{parts.netloc}{parts.path}"
    if not project or not name:
        raise ValueError(f"dataver asset URI {where!r} must be dataver://<project>/<name>")
    if "/" in parts.path.removeprefix("/"):
        raise ValueError(
            f"dataver asset URI {where!r} has more than one path segment; "
            "it must be dataver://<project>/<name> (percent-encode '/' in the project)"
        )
    if "@" in parts.path:
        # NOTE: an asset is a dataset; versions are its events, so no @version in the URI.
        raise ValueError(
            f"dataver asset URI {where!r} names a version: an asset is a whole dataset, "
            "use dataver://<project>/<name> (the version is in each asset event's extra)"
        )
    try:
        check_name(project, "project")
        check_name(name)
    except dataver.ValidationError as exc:
        raise ValueError(f"dataver asset URI {where!r}: {exc}") from exc
    return project, name


def sanitize_uri(parts: SplitResult) -> SplitResult:
    """URI normalizer of the ``dataver`` scheme (``asset-uris`` ``handler``).

    Checks that the URI is ``dataver://<project>/<name>`` with valid dataver names and
    re-encodes both, so equivalent spellings are the same asset; drops query and fragment.

    Raises:
        ValueError: Not a valid dataver dataset URI (Airflow refuses the asset).
    """
    project, name = _parts(parts)
    return parts._replace(
        netloc=quote(project, safe=""), path="/" + quote(name, safe=""), query="", fragment=""
    )


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Any:
    """The OpenLineage dataset of a dataver asset (``asset-uris`` ``to_openlineage_converter``).

    Namespace ``dataver://<project>``, name ``<name>``: the same identity
    :meth:`~dataver_airflow.operators.version.DataverVersionOperator.get_openlineage_facets_on_complete`
    reports.
    """
    del lineage_context
    project, name = parse_asset_uri(asset.uri)
    return openlineage_dataset(project, name)


def openlineage_namespace(project: str) -> str:
    """OpenLineage namespace of a project's datasets: ``dataver://<project>``."""
    return f"{SCHEME}://{quote(project, safe='')}"


def openlineage_dataset(project: str, name: str, facets: dict[str, Any] | None = None) -> Any:
    """An OpenLineage ``Dataset`` for ``project/name`` (needs the OpenLineage provider)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=openlineage_namespace(project), name=name, facets=facets or {})


def asset_extra(ds: dataver.Dataset) -> dict[str, Any]:
    """The ``extra`` of a version's asset event: id, version, state, stats (and where)."""
    return {
        "id": ds.id,
        "project": ds.project,
        "name": ds.name,
        "version": ds.version,
        "state": ds.state.value,
        "uri": ds.uri,
        "stats": ds.stats.model_dump(mode="json"),
    }


def dataver_alias() -> AssetAlias:
    """The asset alias run-time-named versions are announced through."""
    return AssetAlias(name=DATAVER_ASSET_ALIAS)
