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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


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
