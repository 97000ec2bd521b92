"""The prefect-dataver tasks; each has an async twin named ``<task>_async``.

The old names of the twins (``acreate_version``, ``async_folder``, ``await_for_version`` ...)
still work, with a ``DeprecationWarning``, until the next release.
"""

from prefect_dataver._twins import Renamed
from prefect_dataver.tasks.create import create_version, create_version_async
from prefect_dataver.tasks.files import (
    add_files,
    add_files_async,
    remove_files,
    remove_files_async,
    sync_folder,
    sync_folder_async,
)
from prefect_dataver.tasks.finalize import finalize_version, finalize_version_async
from prefect_dataver.tasks.get import get_local_copy, get_local_copy_async
from prefect_dataver.tasks.partition import partition_files, partition_files_async
from prefect_dataver.tasks.publish import publish_version, publish_version_async
from prefect_dataver.tasks.version_folder import version_folder, version_folder_async
from prefect_dataver.tasks.wait import VersionBrokenError, wait_for_version, wait_for_version_async

# NOTE: the old names of the async twins, deprecated (removed in the next release).
acreate_version = Renamed("acreate_version", create_version_async)
aadd_files = Renamed("aadd_files", add_files_async)
async_folder = Renamed("async_folder", sync_folder_async)
aremove_files = Renamed("aremove_files", remove_files_async)
afinalize_version = Renamed("afinalize_version", finalize_version_async)
apublish_version = Renamed("apublish_version", publish_version_async)
aversion_folder = Renamed("aversion_folder", version_folder_async)
aget_local_copy = Renamed("aget_local_copy", get_local_copy_async)
await_for_version = Renamed("await_for_version", wait_for_version_async)

__all__ = [
    "VersionBrokenError",
    "add_files",
    "add_files_async",
    "create_version",
    "create_version_async",
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
    "wait_for_version",
    "wait_for_version_async",
]
