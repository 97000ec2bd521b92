"""The cache policy of ``version_folder``: Cached while the folder is what its version holds.

``version_folder`` records the *fingerprint* of its call in the provenance of a version it
creates (``folder_fingerprint``): ``dataver.scan.folder_fingerprint`` of the folder (every
file's path, size, mtime and inode, no content read) with ``dataset_path``.

:class:`VersionFolderCache` gives a call the key ``fingerprint + version id + state`` when
the version the call compares the folder with (its one parent; for ``parents="latest"`` the
dataset's newest Final/Published version) is a version of the same dataset that recorded
the same fingerprint: the task is then Cached and returns that version without running.
Otherwise there is no key and the task runs, and ``Registry.version_folder`` compares the
folder's content itself (reusing the version when nothing changed). There is no key either
for ``unchanged`` other than ``"reuse"``, an explicit ``version``, or a folder with a file
changed too recently to trust its stat or that cannot be scanned (no fingerprint). A key
names the version and its state, so a deleted or superseded version never matches and one
published since is re-read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import CachePolicy

import dataver
from dataver.scan import Symlinks, folder_fingerprint
from prefect_dataver._registry import open_registry
from prefect_dataver.models import parent_refs

if TYPE_CHECKING:
    import os

    from prefect.context import TaskRunContext

    from dataver.api.steps import Unchanged


def fingerprint(
    folder: str | os.PathLike[str], dataset_path: str = "", symlinks: Symlinks = "refuse"
) -> str | None:
    """The fingerprint of a ``version_folder`` call; None when it cannot vouch for the folder.

    None too when the folder cannot be scanned (missing, a refused link, an unsafe name):
    ``Registry.version_folder`` then reports the error as the SDK always does.
    """
    try:
        listing = folder_fingerprint(folder, symlinks=symlinks)
    except (OSError, dataver.DataverError):
        return None
    if listing is None:
        return None
    return hashlib.sha256(f"{dataset_path.strip('/')}\0{listing}".encode()).hexdigest()


def unchanged_policy(unchanged: Unchanged, reuse_unchanged: bool | None) -> Unchanged:
    """``unchanged``, or what the deprecated ``reuse_unchanged`` says when given."""
    if reuse_unchanged is None:
        return unchanged
    return "reuse" if reuse_unchanged else "new"


@dataclass
class VersionFolderCache(CachePolicy):
    """Cache policy of ``version_folder``: cached while its version holds the folder as it is.

    Example:
        ```python
        from prefect.cache_policies import NO_CACHE

        # always run the task (it still reuses the version of an unchanged folder)
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
        """The cache key, or None when no version can be returned as is (the task runs)."""
        del task_ctx, flow_parameters, kwargs
        policy = unchanged_policy(inputs.get("unchanged", "reuse"), inputs.get("reuse_unchanged"))
        if policy != "reuse" or inputs.get("version") is not None:
            return None
        name, project = inputs.get("name"), inputs.get("project", "default")
        try:
            key = fingerprint(
                inputs["folder"], inputs.get("dataset_path", ""), inputs.get("symlinks", "refuse")
            )
            if key is None:
                return None
            with open_registry(inputs["registry"]) as registry:
                parents = parent_refs(inputs.get("parents", "latest"))
                (parent,) = registry.resolve_parents(name, project, parents)  # type: ignore[arg-type]
                found = registry.get(parent)
        except (OSError, ValueError, KeyError, TypeError, dataver.DataverError):
            # NOTE: no key means "run the task"; the task reports the real error.
            return None
        if (found.project, found.name) != (project, name):
            return None
        if found.provenance.get("folder_fingerprint") != key:
            return None
        publish = bool(inputs.get("publish", False))
        return f"dataver-{key[:32]}-{found.id}-{found.state.value}-{int(publish)}"
