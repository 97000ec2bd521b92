"""Failure hygiene: no Prefect run leaves a version stuck in Uploading.

- A task that changes an Uploading version (add, sync, remove, finalize, ``version_folder``)
  and fails with no retry left marks the version Failed with the error; while retries
  remain the version stays Uploading and the retry continues it (:func:`building`, and
  ``keep_on_error`` of ``Registry.version_folder``: one rule for both).
- A flow that is cancelled or crashes runs :func:`abort_flow_versions` (attach it with
  :func:`dataver_flow_hooks`), which aborts every Uploading version its run created. It
  finds them without being told the registry: the registries the run's tasks opened are
  recorded on the flow run (labels ``dataver.registry.*``), which is all a runner or worker
  has when it runs ``on_cancellation`` in its own process after killing the flow run's.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import dataver
from prefect_dataver._registry import (
    RegistryLike,
    open_registry,
    registries_labelled,
    registries_used,
)
from prefect_dataver._run import retries_left
from prefect_dataver.models import VersionRef, version_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prefect.client.schemas.objects import FlowRun, State, TaskRun

logger = logging.getLogger("prefect_dataver")


@contextmanager
def building(registry: dataver.Registry, version: VersionRef) -> Iterator[dataver.Dataset]:
    """The version a task changes; if the block fails and no retry is left, it is Failed."""
    ds = registry.get(version_id(version), states=None)
    try:
        yield ds
    except Exception as exc:
        if retries_left() == 0:
            reason = str(exc) or type(exc).__name__
            _end(ds, lambda d: d.fail(reason))
        raise


def fail_task_versions(task: Any, task_run: TaskRun, state: State[Any]) -> None:
    """Deprecated ``on_failure`` hook; it does nothing and goes in the next release.

    The tasks mark their version Failed themselves when they fail with no retry left.
    """
    del task, task_run, state
    warnings.warn(
        "prefect_dataver.fail_task_versions is deprecated and does nothing: the tasks fail "
        "their versions themselves; remove it from on_failure",
        DeprecationWarning,
        stacklevel=2,
    )


def abort_flow_versions(
    registry: RegistryLike | None = None,
) -> Callable[[Any, FlowRun, State[Any]], None]:
    """A flow hook that aborts the Uploading versions the flow run created.

    Use it as ``on_cancellation`` and ``on_crashed`` hook (see :func:`dataver_flow_hooks`).
    Versions are matched on the ``flow_run_id`` of their provenance. The hook looks in
    ``registry`` (when given) and in every registry the flow run's tasks opened: those
    opened in this process, and those recorded on the flow run's labels
    (``dataver.registry.<hash>``: the URL, and the block's id when a saved block was used).
    So it needs no argument, also where a runner or worker runs ``on_cancellation`` in its
    own process after killing the flow run's (deployments). A URL recorded there is opened
    with that process's storage options (``AWS_*`` ...).

    Args:
        registry: The registry the flow writes to (block or URL): optional, an extra place
            to look.

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
        targets.extend(registries_labelled(flow_run))
        done: set[str] = set()
        for target in targets:
            try:
                opened = open_registry(target, remember=False)
            except dataver.DataverError as exc:
                logger.warning("could not open dataver registry %s: %s", target, exc)
                continue
            with opened:
                if opened.url in done:
                    continue
                done.add(opened.url)
                for ds in opened.list(states=["uploading"]):
                    if ds.provenance.get("flow_run_id") == str(flow_run.id):
                        _end(ds, lambda d: d.abort(reason))

    return abort_uploading_versions


def dataver_flow_hooks(registry: RegistryLike | None = None) -> dict[str, list[Any]]:
    """``on_cancellation`` and ``on_crashed`` hooks that abort the flow run's versions.

    Args:
        registry: The registry the flow writes to (block or URL); optional: the hooks find
            the registries the run's tasks opened (see :func:`abort_flow_versions`).

    Returns:
        Keyword arguments for ``@flow``.

    Example:
        ```python
        @flow(**dataver_flow_hooks())
        def ingest(): ...
        ```
    """
    hook = abort_flow_versions(registry)
    return {"on_cancellation": [hook], "on_crashed": [hook]}


def _end(ds: dataver.Dataset, end: Callable[[dataver.Dataset], None]) -> None:
    """Apply ``end`` to the version if it is still Uploading; never raise instead of the error."""
    try:
        if ds.reload().state is dataver.State.UPLOADING:
            end(ds)
            logger.warning("dataver version %s (%s) is now %s", ds.id, ds.uri, ds.state.value)
    except dataver.DataverError as exc:
        logger.warning("could not end dataver version %s: %s", ds.id, exc)
