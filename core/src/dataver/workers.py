"""Thread pools that stop starting work once the block that feeds them fails.

``with ThreadPoolExecutor() as pool`` waits, on the way out of a failed block, for every task
already submitted: after Ctrl-C (or the first error) a hash of 10,000 files or an upload of
100 objects would go on to the end, its progress bar reaching 100% before the interrupt is
even reported. :func:`stopping_pool` cancels what has not started instead; only the tasks
already running finish (a thread cannot be stopped from outside).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

_T = TypeVar("_T")
_R = TypeVar("_R")


@contextlib.contextmanager
def stopping_pool(max_workers: int, name: str = "") -> Iterator[ThreadPoolExecutor]:
    """A thread pool for the block; if the block raises (Ctrl-C included), queued tasks are
    cancelled before the pool is shut down.

    Example:
        >>> with stopping_pool(2) as pool:
        ...     list(pool.map(abs, [-1, -2]))
        [1, 2]
    """
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def each(
    function: Callable[[_T], _R], items: Iterable[_T], *, workers: int = 16, name: str = ""
) -> list[_R]:
    """``function`` over ``items`` on a thread pool (in order): for storage calls that each
    wait on the network (HEADs, small reads, deletes) and would otherwise queue up."""
    todo = list(items)
    if len(todo) <= 1:
        return [function(item) for item in todo]
    with stopping_pool(min(workers, len(todo)), name) as pool:
        return list(pool.map(function, todo))
