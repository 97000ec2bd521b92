"""One naming rule for async twins (``<task>_async``), and the old names as deprecated aliases."""

from __future__ import annotations

import asyncio
import functools
import warnings
from typing import Any

from prefect.tasks import Task, task


def async_twin(sync: Task[..., Any], **options: Any) -> Task[..., Any]:
    """The task ``<name>_async``: ``sync``'s function run in a worker thread.

    Args:
        sync: The task; its twin takes the same arguments and is named ``<name>-async``.
        options: More options of the twin (``task_run_name``, ``cache_policy``).

    Returns:
        The async task.
    """
    fn = sync.fn

    @functools.wraps(fn)
    async def twin(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    twin.__name__ = twin.__qualname__ = f"{fn.__name__}_async"
    twin.__doc__ = f"Async twin of :func:`{fn.__name__}` (the work runs in a worker thread)."
    return task(twin, name=f"{sync.name}-async", **options)


class Renamed:
    """An old name of a task: the task itself, with a ``DeprecationWarning`` on every use.

    Calling it, ``.submit``, ``.map``, ``.with_options`` ... all work and warn, naming the new
    name. The old names go in the release after the one that deprecated them.
    """

    def __init__(self, old: str, new: Task[..., Any]) -> None:
        self._old, self._task, self._new = old, new, new.fn.__name__

    def _warn(self) -> None:
        warnings.warn(
            f"prefect_dataver.{self._old} is deprecated and will be removed in the next "
            f"release; use prefect_dataver.{self._new}",
            DeprecationWarning,
            stacklevel=3,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._warn()
        return self._task(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):  # NOTE: pickling and introspection, before __init__ too
            raise AttributeError(attr)
        self._warn()
        return getattr(self._task, attr)

    def __repr__(self) -> str:
        return f"<deprecated {self._old}: use {self._new}>"
