"""The cache policy of ``version_folder``: Cached while the folder is what its version holds.

``version_folder`` records the *fingerprint* of its call in the provenance of a version it
creates (``folder_fingerprint``): ``dataver.scan.folder_fingerprint`` of the folder (every
file's path, size, mtime and inode, no content read) with ``dataset_path``.

:class:`VersionFolderCache` gives a call the key ``fingerprint + version id + state`` when
the version the call compares the folder with (its one parent; for ``parents="latest"`` the
dataset's newest Final/Published version) is a version of the same dataset that holds the
folder as it is: it recorded the same fingerprint, or an earlier call with that fingerprint
returned it (see below). The task is then Cached and returns that version without running.
Otherwise there is no key and the task runs, and ``Registry.version_folder`` compares the
folder's content itself (reusing the version when nothing changed). There is no key either
for ``unchanged`` other than ``"reuse"``, an explicit ``version``, or a folder with a file
changed too recently to trust its stat or that cannot be scanned (no fingerprint). A key
names the version and its state, so a deleted or superseded version never matches and one
published since is re-read; the result stored under a key is always the version it names.

Prefect stores a task's result under the key it computed *before* the call ran, which
cannot name the version the call is about to build. So each call also stores its result
under the key the next call on the untouched folder computes (:func:`keep_for_rerun`): the
first re-run is Cached, not only the second. A call whose folder was too fresh to vouch for
when it began (a file changed within the stat cache's racy window, 0.1 s on most file
systems, 2 s where mtimes have whole seconds) records no fingerprint: its first re-run
runs and compares the content (a stat taken then could not prove the files did not change
while they were read), and stores its result for the re-runs after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext

import dataver
from dataver.scan import Symlinks, folder_fingerprint
from prefect_dataver._registry import open_registry
from prefect_dataver.models import VersionInfo, parent_refs

if TYPE_CHECKING:
    import os

    from dataver.policies import Unchanged

logger = logging.getLogger("prefect_dataver")


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
        del flow_parameters, kwargs
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
        cached = cache_key(key, found.id, found.state.value, bool(inputs.get("publish", False)))
        if found.provenance.get("folder_fingerprint") == key or _stored(task_ctx, cached):
            return cached
        return None


def _stored(task_ctx: TaskRunContext, key: str) -> bool:
    """Whether an earlier call stored its result (this very version) under ``key``."""
    try:
        return bool(task_ctx.result_store.exists(key))
    except Exception:  # noqa: BLE001 - no key: the task runs
        return False


def cache_key(folder_fingerprint: str, version_id: str, state: str, publish: bool) -> str:
    """The key :class:`VersionFolderCache` gives a call whose folder its version holds."""
    return f"dataver-{folder_fingerprint[:32]}-{version_id}-{state}-{int(publish)}"


def keep_for_rerun(result: VersionInfo, folder_fingerprint: str | None, publish: bool) -> None:
    """Store a ``version_folder`` result under the key of the next call on the same folder.

    ``result`` holds the folder as it was when the call began (``folder_fingerprint``, taken
    before any content was read): the call built it from the folder, or compared the folder
    with it. The next call that compares the untouched folder with ``result`` (with
    ``parents="latest"`` while it is the newest version) computes :func:`cache_key` of that
    fingerprint and ``result``'s id and state, and finds it. Nothing is stored without a
    fingerprint, where Prefect stores no results (``persist_result=False``), for another
    cache policy, or where this call's own key is that key (Prefect stores it).

    Args:
        result: What the call returns.
        folder_fingerprint: The fingerprint of the folder when the call began.
        publish: The call's ``publish``.
    """
    ctx = TaskRunContext.get()
    if (
        ctx is None
        or folder_fingerprint is None
        or not isinstance(ctx.task.cache_policy, VersionFolderCache)
        or not ctx.persist_result
    ):
        return
    key = cache_key(folder_fingerprint, result.id, result.state, publish)
    try:
        from prefect.transactions import get_transaction

        current = get_transaction()
        if current is not None and current.key == key:
            return
        store = ctx.result_store
        if store.exists(key):
            return
        expiration = None
        if ctx.task.cache_expiration is not None:
            expiration = dt.datetime.now(dt.timezone.utc) + ctx.task.cache_expiration
        store.write(obj=result, key=key, expiration=expiration)
    except Exception as exc:  # noqa: BLE001 - the next run only misses the cache
        logger.debug("could not store the result for the next run under %s: %s", key, exc)
