"""Airflow assets for dataver datasets: ``Asset("dataver://<project>/<name>")``.

An asset stands for a dataset (every version of ``project/name``), not for one version: each
version is announced by one asset *event* whose ``extra["payload"]`` says which version it
was (:func:`version_payload`), whether an operator or a
:class:`~dataver_airflow.triggers.DataverPublishedTrigger` watcher announced it. Airflow finds
the URI normalizer, the asset factory and the OpenLineage converter here through the
provider's ``asset-uris`` entry.

Operators and watchers share the asset's state store (Airflow's ``asset_state_store``) under
the keys below: a watcher records how far it has looked (:func:`watch_key`) and that it
watches (:data:`WATCHED_KEY`); an operator about to publish a version it will announce itself
records a claim on it (:func:`claim_key`), so the watcher does not announce it a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from airflow.sdk import Asset, AssetAlias

import dataver
from dataver.versions.records import check_name

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from airflow.sdk.definitions.asset import AssetUriRef

SCHEME = "dataver"

# Operators whose dataset's asset Airflow does not know yet emit their events through this
# alias (which creates the asset); consumers still schedule on the dataset's Asset.
DATAVER_ASSET_ALIAS = "dataver-versions"
# Keys of the asset state store shared by the operators and the watcher (see the docstring).
WATCHED_KEY = "dataver:watched"


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


def dataset_ref(project: str, name: str) -> AssetUriRef:
    """A reference to the asset of ``project/name``: ``Asset.ref(uri="dataver://...")``.

    What the operators declare as their outlet: a reference draws the asset in the DAG graph
    but does not *define* it, so the asset's watchers and extra stay those of the DAG that
    defines it (a consumer scheduled on it, a watcher). An ``Asset(...)`` outlet without the
    watchers would be a second, different definition: the dag-processor would drop the
    watchers each time it parsed the producer's file, and add them back with the consumer's.
    """
    return Asset.ref(uri=asset_uri(project, name))


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


def version_payload(ds: dataver.Dataset) -> dict[str, Any]:
    """What an asset event says about the version it announces (``extra["payload"]``).

    ``id``, ``project``, ``name``, ``version``, ``state`` (``final`` or ``published``),
    ``uri`` (``dataver://<project>/<name>@<version>``), ``stats`` and ``published_at`` (ISO
    8601, or None).
    """
    published_at = ds.record.published_at
    return {
        "id": ds.id,
        "project": ds.project,
        "name": ds.name,
        "version": ds.version,
        "state": ds.state.value,
        "uri": ds.uri,
        "stats": ds.stats.model_dump(mode="json"),
        "published_at": published_at.isoformat() if published_at else None,
    }


def asset_extra(ds: dataver.Dataset) -> dict[str, Any]:
    """The ``extra`` of an operator's asset event: ``{"payload": version_payload(ds)}``.

    The same shape as the events of a watcher (Airflow stores a trigger's event as
    ``{"from_trigger": true, "payload": ...}``), so a consumer reads
    ``event.extra["payload"]["id"]`` whoever announced the version.
    """
    return {"payload": version_payload(ds)}


def announced_version(event: Any) -> dict[str, Any]:
    """The payload of a dataver asset event (or of its ``extra``): which version it announces.

    Reads events of either side (operator or watcher); events recorded before the payload
    shape (version fields at the top of ``extra``) are read too.

    Example::

        @task(inlets=[LABELS])
        def newest(inlet_events=None) -> str:
            return announced_version(inlet_events[LABELS][-1])["id"]

    Raises:
        KeyError: Not an event of a dataver version.
    """
    extra = dict(event if isinstance(event, Mapping) else getattr(event, "extra", None) or {})
    payload = extra.get("payload")
    if isinstance(payload, dict) and "id" in payload:
        return payload
    if "id" in extra:  # NOTE: the shape of provider 0.1.0's operator events
        return {key: value for key, value in extra.items() if key != "from_trigger"}
    raise KeyError(f"not a dataver version event (extra: {sorted(extra)})")


def watch_key(project: str, name: str, since: str | None) -> str:
    """Asset state key of a watcher's high-water mark (per dataset and ``since``)."""
    return f"dataver:watch:{project}/{name}" + (f"@{since}" if since else "")


def claim_key(version_id: str) -> str:
    """Asset state key an operator sets before publishing a version it announces itself."""
    return f"dataver:announced:{version_id}"


def dataver_alias() -> AssetAlias:
    """The asset alias run-time-named versions are announced through."""
    return AssetAlias(name=DATAVER_ASSET_ALIAS)
