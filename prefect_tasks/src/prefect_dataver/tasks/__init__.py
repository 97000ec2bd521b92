"""The prefect-dataver tasks; each has an async twin named ``a<name>``."""

from prefect_dataver.tasks.create import acreate_version, create_version
from prefect_dataver.tasks.files import (
    aadd_files,
    add_files,
    aremove_files,
    async_folder,
    remove_files,
    sync_folder,
)
from prefect_dataver.tasks.finalize import afinalize_version, finalize_version
from prefect_dataver.tasks.get import aget_local_copy, get_local_copy
from prefect_dataver.tasks.publish import apublish_version, publish_version
from prefect_dataver.tasks.version_folder import aversion_folder, version_folder
from prefect_dataver.tasks.wait import VersionBrokenError, await_for_version, wait_for_version

__all__ = [
    "VersionBrokenError",
    "aadd_files",
    "acreate_version",
    "add_files",
    "afinalize_version",
    "aget_local_copy",
    "apublish_version",
    "aremove_files",
    "async_folder",
    "aversion_folder",
    "await_for_version",
    "create_version",
    "finalize_version",
    "get_local_copy",
    "publish_version",
    "remove_files",
    "sync_folder",
    "version_folder",
    "wait_for_version",
]
