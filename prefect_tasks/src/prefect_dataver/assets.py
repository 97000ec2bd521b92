"""Prefect assets: a Final version materialises the asset ``dataver://<project>/<name>``.

The materialisation is a small ``@materialize`` task run inside the task that sealed the
version. Parents in other datasets are its upstream assets, so Prefect's lineage shows the
chain across datasets; a parent in the same dataset is the same asset and is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from prefect.assets import Asset, AssetProperties, add_asset_metadata, materialize
from prefect.cache_policies import NO_CACHE

if TYPE_CHECKING:
    import dataver


def dataset_asset_key(project: str, name: str) -> str:
    """``dataver://<project>/<name>`` (characters Prefect forbids in keys percent-encoded).

    Example:
        >>> dataset_asset_key("vision", "train images")
        'dataver://vision/train%20images'
    """
    return f"dataver://{quote(project, safe='/')}/{quote(name, safe='')}"


def materialize_version(ds: dataver.Dataset, page: str) -> Asset:
    """Record that ``ds`` materialised its dataset's asset (with its parents upstream).

    Args:
        ds: A Final or Published version.
        page: The version's web page (the asset's URL).

    Returns:
        The materialised asset.
    """
    key = dataset_asset_key(ds.project, ds.name)
    asset = Asset(
        key=key,
        properties=AssetProperties(
            name=f"{ds.project}/{ds.name}",
            url=page,
            description=f"dataver dataset {ds.project}/{ds.name}",
        ),
    )
    upstream = _parent_assets(ds, exclude=key)
    metadata = {
        "version_id": ds.id,
        "version": ds.version,
        "uri": ds.uri,
        "state": ds.state.value,
        "parents": list(ds.parents),
        "files": ds.stats.files,
        "logical_bytes": ds.stats.logical_bytes,
    }

    @materialize(
        asset,
        by="dataver",
        asset_deps=upstream,
        task_run_name=f"materialize {ds.uri}",
        cache_policy=NO_CACHE,
        persist_result=False,
    )
    def record_version() -> None:
        add_asset_metadata(key, metadata)

    record_version()
    return asset


def _parent_assets(ds: dataver.Dataset, exclude: str) -> list[Asset | str]:
    keys: list[Asset | str] = []
    for parent_id in ds.parents:
        parent = ds.registry.get(parent_id, states=None)
        key = dataset_asset_key(parent.project, parent.name)
        if key != exclude and key not in keys:
            keys.append(key)
    return keys
