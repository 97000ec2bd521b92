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
    add_files,
    add_files_async,
    create_version,
    create_version_async,
    finalize_version,
    finalize_version_async,
    get_local_copy,
    get_local_copy_async,
    partition_files,
    partition_files_async,
    publish_version,
    publish_version_async,
    remove_files,
    remove_files_async,
    sync_folder,
    sync_folder_async,
    version_folder,
    version_folder_async,
    wait_for_version,
    wait_for_version_async,
)

# NOTE: the deprecated old names of the async twins: importable, not listed in __all__.
from prefect_dataver.tasks import aadd_files as aadd_files
from prefect_dataver.tasks import acreate_version as acreate_version
from prefect_dataver.tasks import afinalize_version as afinalize_version
from prefect_dataver.tasks import aget_local_copy as aget_local_copy
from prefect_dataver.tasks import apublish_version as apublish_version
from prefect_dataver.tasks import aremove_files as aremove_files
from prefect_dataver.tasks import async_folder as async_folder
from prefect_dataver.tasks import aversion_folder as aversion_folder
from prefect_dataver.tasks import await_for_version as await_for_version

__version__ = "0.1.0"

__all__ = [
    "FINALIZED",
    "PUBLISHED",
    "DataverRegistry",
    "VersionBrokenError",
    "VersionFolderCache",
    "VersionInfo",
    "__version__",
    "abort_flow_versions",
    "add_files",
    "add_files_async",
    "artifact_keys",
    "create_version",
    "create_version_async",
    "dataset_asset_key",
    "dataver_flow_hooks",
    "fail_task_versions",
    "finalize_version",
    "finalize_version_async",
    "get_local_copy",
    "get_local_copy_async",
    "partition_files",
    "partition_files_async",
    "publish_version",
    "publish_version_async",
    "remove_files",
    "remove_files_async",
    "sync_folder",
    "sync_folder_async",
    "version_folder",
    "version_folder_async",
    "version_resource_id",
    "wait_for_version",
    "wait_for_version_async",
]
