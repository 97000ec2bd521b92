"""Failure hygiene: no Prefect run leaves a version stuck in Uploading.

- A task that changes an Uploading version (add, sync, remove, finalize,
  ``version_folder``) registers it while it works. If the task finally fails (after its
  retries), its ``on_failure`` hook :func:`fail_task_versions` marks the version Failed with
  the error. While retries remain the version stays Uploading and the retry resumes it.
- A flow that is cancelled or crashes runs :func:`abort_flow_versions` (attach it with
  :func:`dataver_flow_hooks`), which aborts every Uploading version its run created.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prefect.context import TaskRunContext

import dataver
from prefect_dataver._registry import RegistryLike, open_registry, registries_used

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prefect.client.schemas.objects import FlowRun, State, TaskRun

logger = logging.getLogger("prefect_dataver")

# task run id -> (registry, version id) of the version that task run is building.
_BUILDING: dict[str, tuple[dataver.Registry, str]] = {}
_LOCK = threading.Lock()


@contextmanager
def building(registry: dataver.Registry, ds: dataver.Dataset) -> Iterator[dataver.Dataset]:
    """Mark ``ds`` as the version the current task run builds, until the block succeeds.

    On an exception the mark stays, so the task's ``on_failure`` hook can fail the version
    once Prefect has decided there is no retry left.
    """
    task_ctx = TaskRunContext.get()
    key = str(task_ctx.task_run.id) if task_ctx is not None else None
    if key is not None:
        with _LOCK:
            _BUILDING[key] = (registry, ds.id)
    yield ds
    # NOTE: deliberately not in a ``finally``: after an exception the mark must outlive the
    # task body, for the hook (or the retry, which marks the same version again).
    if key is not None:
        with _LOCK:
            _BUILDING.pop(key, None)


def fail_task_versions(task: Any, task_run: TaskRun, state: State[Any]) -> None:
    """``on_failure`` hook: mark the version the failed task run was building Failed.

    Every prefect-dataver building task has it; keep it when you replace a task's hooks with
    ``with_options(on_failure=[...])``.

    Args:
        task: The task (unused).
        task_run: The failed task run.
        state: Its Failed state; its message becomes the version's error.
    """
    del task
    with _LOCK:
        entry = _BUILDING.pop(str(task_run.id), None)
    if entry is None:
        return
    registry, version_id = entry
    reason = state.message or f"task run {task_run.name} failed"
    _end(registry, version_id, lambda ds: ds.fail(reason))


def abort_flow_versions(
    registry: RegistryLike | None = None,
) -> Callable[[Any, FlowRun, State[Any]], None]:
    """A flow hook that aborts the Uploading versions the flow run created.

    Use it as ``on_cancellation`` and ``on_crashed`` hook (see :func:`dataver_flow_hooks`).
    Versions are matched on the ``flow_run_id`` of their provenance. The hook looks in
    ``registry`` and in every registry the flow run's tasks opened in this process. A crash
    hook runs in the flow run's process, so it needs no registry; a runner or worker runs
    ``on_cancellation`` in its own process, so for deployments pass the registry.

    Args:
        registry: The registry the flow writes to (block or URL), if known up front.

    Returns:
        The hook.

    Example:
        ```python
        @flow(on_crashed=[abort_flow_versions()])
        def ingest(registry: str): ...
        ```
    """

    def abort_uploading_versions(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
        del flow
        reason = f"flow run {flow_run.name} {(state.name or state.type.value).lower()}"
        targets = registries_used(str(flow_run.id))
        if registry is not None:
            targets.append(registry)
        done: set[str] = set()
        for target in targets:
            opened = open_registry(target)
            if opened.url in done:
                continue
            done.add(opened.url)
            for ds in opened.list(states=["uploading"]):
                if ds.provenance.get("flow_run_id") == str(flow_run.id):
                    _end(opened, ds.id, lambda d: d.abort(reason))

    return abort_uploading_versions


def dataver_flow_hooks(registry: RegistryLike | None = None) -> dict[str, list[Any]]:
    """``on_cancellation`` and ``on_crashed`` hooks that abort the flow run's versions.

    Args:
        registry: The registry the flow writes to (block or URL); needed for cancellation
            of deployment runs (see :func:`abort_flow_versions`).

    Returns:
        Keyword arguments for ``@flow``.

    Example:
        ```python
        @flow(**dataver_flow_hooks("s3://bucket/datasets"))
        def ingest(): ...
        ```
    """
    hook = abort_flow_versions(registry)
    return {"on_cancellation": [hook], "on_crashed": [hook]}


def _end(
    registry: dataver.Registry, version_id: str, end: Callable[[dataver.Dataset], None]
) -> None:
    """Apply ``end`` to the version if it is still Uploading; never raise from a hook."""
    try:
        ds = registry.get(version_id, states=None)
        if ds.state is dataver.State.UPLOADING:
            end(ds)
            logger.warning("dataver version %s (%s) is now %s", ds.id, ds.uri, ds.state.value)
    except dataver.DataverError as exc:
        logger.warning("could not end dataver version %s: %s", version_id, exc)
