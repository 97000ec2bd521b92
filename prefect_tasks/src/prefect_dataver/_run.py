"""What the current Prefect run is: provenance for version records, the retry key, retries left,
the writer name of a task run."""

from __future__ import annotations

from typing import Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.utilities.urls import url_for


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


def task_run_writer() -> str | None:
    """The writer name of the current task run: ``<task run name>/<task run id>``.

    A retry is the same task run (same id), so it is the same writer and replaces the
    contribution of the try before it instead of adding a second one. Two task runs (two
    mapped parts, two calls) are two writers.

    Returns:
        The name, or None outside a task run.
    """
    task_ctx = TaskRunContext.get()
    if task_ctx is None:
        return None
    run = task_ctx.task_run
    return f"{run.name}/{run.id}"


def retries_left() -> int:
    """How many retries Prefect may still make of the current task run (0 outside one).

    A task that fails with retries left leaves its version Uploading for the retry to
    continue; with none left it marks the version Failed (``keep_on_error`` of
    ``Registry.version_folder``). A ``retry_condition_fn`` that declines a retry is not
    known here: the version then stays Uploading.
    """
    task_ctx = TaskRunContext.get()
    if task_ctx is None:
        return 0
    # NOTE: run_count is 1 in the first attempt; Prefect counts every Running state.
    return max(task_ctx.task.retries - task_ctx.task_run.run_count + 1, 0)
