"""Prefect integration for dataver: dataset versions as native Prefect tasks and blocks.

Example:
    ```python
    from prefect import flow

    from prefect_dataver import DataverRegistry, version_folder, wait_for_version


    @flow
    def ingest() -> None:
        registry = DataverRegistry(url="/data/registry")
        ds = version_folder(registry, "images", "vision", "/exports/images")
        wait_for_version(registry, ds)
    ```
"""

from prefect_dataver.artifacts import artifact_keys
from prefect_dataver.assets import dataset_asset_key
from prefect_dataver.blocks import DataverRegistry
from prefect_dataver.cache import VersionFolderCache
from prefect_dataver.events import FINALIZED, PUBLISHED, version_resource_id
from prefect_dataver.hygiene import abort_flow_versions, dataver_flow_hooks, fail_task_versions
from prefect_dataver.models import VersionInfo
from prefect_dataver.tasks import (
    VersionBrokenError,
    aadd_files,
    acreate_version,
    add_files,
    afinalize_version,
    aget_local_copy,
    apublish_version,
    aremove_files,
    async_folder,
    aversion_folder,
    await_for_version,
    create_version,
    finalize_version,
    get_local_copy,
    publish_version,
    remove_files,
    sync_folder,
    version_folder,
    wait_for_version,
)

__version__ = "0.1.0"

__all__ = [
    "FINALIZED",
    "PUBLISHED",
    "DataverRegistry",
    "VersionBrokenError",
    "VersionFolderCache",
    "VersionInfo",
    "__version__",
    "aadd_files",
    "abort_flow_versions",
    "acreate_version",
    "add_files",
    "afinalize_version",
    "aget_local_copy",
    "apublish_version",
    "aremove_files",
    "artifact_keys",
    "async_folder",
    "aversion_folder",
    "await_for_version",
    "create_version",
    "dataset_asset_key",
    "dataver_flow_hooks",
    "fail_task_versions",
    "finalize_version",
    "get_local_copy",
    "publish_version",
    "remove_files",
    "sync_folder",
    "version_folder",
    "version_resource_id",
    "wait_for_version",
]
