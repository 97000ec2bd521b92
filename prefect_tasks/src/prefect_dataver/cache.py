"""Re-running ``version_folder`` on an unchanged folder reuses its version.

The *folder key* of a call is a SHA-256 over the folder listing (every file's relative path,
size and modification time in nanoseconds; contents are not read) together with
``dataset_path``, ``version``, ``tags`` and ``metadata``. ``version_folder`` records it in
the version's provenance (``folder_key``).

A version is *reusable* for a call when it is the dataset's newest Final/Published version,
carries the same folder key, and its parents match the call: any parents for
``parents="latest"`` (it is the latest), the same ids for explicit parents, none for None.

:class:`VersionFolderCache` is the Prefect cache policy of ``version_folder``: while a
reusable version exists its key is ``folder key + version id + state``, so the task is
Cached and returns that version without running; when none exists there is no key and the
task runs (and itself reuses a version found then). A key includes the version's state, so
a version published since is re-read rather than returned stale, and a deleted or superseded
version never matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import CachePolicy

import dataver
from prefect_dataver._parents import Parents, parents_arg
from prefect_dataver._registry import open_registry

if TYPE_CHECKING:
    from prefect.context import TaskRunContext


def folder_digest(folder: str | os.PathLike[str]) -> str:
    """SHA-256 of a folder's listing: relative path, size and mtime (ns) of every file.

    Args:
        folder: A local folder.

    Returns:
        The hex digest.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder {root}")
    digest = hashlib.sha256()
    for base, dirs, files in os.walk(root):
        dirs.sort()  # NOTE: os.walk visits sub-folders in this list's order
        for file_name in sorted(files):
            path = Path(base, file_name)
            if not path.is_file():
                continue  # NOTE: like dataver's scan: regular files (or links to them) only
            stat = path.stat()
            rel = path.relative_to(root).as_posix()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def folder_key(
    folder: str | os.PathLike[str],
    dataset_path: str = "",
    version: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> str:
    """The folder key of a ``version_folder`` call (see the module docs)."""
    what = {
        "listing": folder_digest(folder),
        "dataset_path": dataset_path.strip("/"),
        "version": version,
        "tags": sorted(tags or []),
        "metadata": metadata or {},
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def find_reusable(
    registry: dataver.Registry, name: str, project: str, parents: Parents, key: str
) -> dataver.Dataset | None:
    """The version a ``version_folder`` call with folder key ``key`` can return as is.

    Returns:
        The reusable version, or None.
    """
    try:
        newest = registry.get(name=name, project=project)
    except dataver.VersionNotFoundError:
        return None
    if newest.provenance.get("folder_key") != key:
        return None
    if parents != "latest" and list(newest.parents) != parents_arg(parents):
        return None
    return newest


@dataclass
class VersionFolderCache(CachePolicy):
    """Cache policy of ``version_folder``: cached while a reusable version exists.

    Example:
        ```python
        from prefect.cache_policies import NO_CACHE

        # always run the task (it still reuses an unchanged version itself)
        version_folder.with_options(cache_policy=NO_CACHE)
        ```
    """

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        """The cache key, or None when no reusable version exists (then nothing is cached)."""
        del task_ctx, flow_parameters, kwargs
        if not inputs.get("reuse_unchanged", True):
            return None
        try:
            registry = open_registry(inputs["registry"])
            name, project = inputs["name"], inputs.get("project", "default")
            key = folder_key(
                inputs["folder"],
                inputs.get("dataset_path", ""),
                inputs.get("version"),
                inputs.get("tags"),
                inputs.get("metadata"),
            )
            found = find_reusable(registry, name, project, inputs.get("parents", "latest"), key)
        except (OSError, dataver.DataverError, KeyError, TypeError):
            # NOTE: no key means "run the task"; the task reports the real error.
            return None
        if found is None:
            return None
        publish = bool(inputs.get("publish", False))
        return f"dataver-{key[:32]}-{found.id}-{found.state.value}-{int(publish)}"
