"""What the current Prefect run is: provenance for version records, and the retry key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.utilities.urls import url_for

if TYPE_CHECKING:
    import dataver


def provenance() -> dict[str, Any]:
    """The flow run and task run building a version (empty keys are left out).

    Returns:
        ``orchestrator``, ``flow_name``, ``flow_run_id``, ``flow_run_name``, ``flow_run_url``
        (the run in Prefect's UI, when its URL is known), ``task_run_id``,
        ``task_run_name``, ``task_key``, ``dynamic_key`` and ``resume_key`` where known.
    """
    out: dict[str, Any] = {"orchestrator": "prefect"}
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        out["flow_name"] = flow_ctx.flow.name if flow_ctx.flow else None
        out["flow_run_id"] = str(flow_ctx.flow_run.id)
        out["flow_run_name"] = flow_ctx.flow_run.name
        # NOTE: a link back for the web page's "Built by"; None when no Prefect UI is known.
        out["flow_run_url"] = url_for(flow_ctx.flow_run)
    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        run = task_ctx.task_run
        out["task_run_id"] = str(run.id)
        out["task_run_name"] = run.name
        out["task_key"] = run.task_key
        out["dynamic_key"] = run.dynamic_key
        if "flow_run_id" not in out and run.flow_run_id is not None:
            out["flow_run_id"] = str(run.flow_run_id)
    key = resume_key()
    if key is not None:
        out["resume_key"] = key
    return {k: v for k, v in out.items() if v is not None}


def resume_key() -> str | None:
    """Identifies one task call within one flow run, the same across its retries.

    A retry keeps its task run (same task key and dynamic key); a flow run retry calls the
    same tasks in the same order, so they get the same dynamic keys again.

    Returns:
        ``<flow run id>/<task key>/<dynamic key>``, or None outside a task run.
    """
    task_ctx = TaskRunContext.get()
    if task_ctx is None:
        return None
    run = task_ctx.task_run
    return f"{run.flow_run_id or run.id}/{run.task_key}/{run.dynamic_key}"


def find_resumable(
    registry: dataver.Registry,
    name: str,
    project: str,
    key: str | None,
    states: tuple[str, ...] = ("uploading",),
) -> dataver.Dataset | None:
    """The version an earlier attempt of this task call created, if any.

    Args:
        registry: Where to look.
        name: Dataset name.
        project: Dataset project.
        key: :func:`resume_key` of the current task call.
        states: The states a resumable version may be in.

    Returns:
        The version (with a fresh record), or None.
    """
    if key is None:
        return None
    for ds in registry.list(project=project, name=name, states=states):
        if ds.provenance.get("resume_key") == key:
            return registry.get(ds.id, states=None)
    return None
