"""Run ``dataver`` as its console script does, with a known point to interrupt it at.

The first progress report of the task named by ``DATAVER_TEST_BLOCK`` (``hash``, ``upload``,
``download``) prints ``dataver-test: in <task>`` on stderr and waits there until SIGINT
arrives; the SIGINT then does what Python's own handler does (KeyboardInterrupt in the main
thread), and lets the waiting thread go on, as a transfer in flight would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from dataver import progress

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_released = threading.Event()
_first = threading.Lock()
_task = progress.task


def _on_sigint(signum: int, frame: Any) -> None:
    del signum, frame
    _released.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def _blocking_task(
    name: str, total: int | None, unit: str = "B"
) -> Iterator[Callable[[int], None]]:
    with _task(name, total, unit) as advance:

        def advance_then_wait(amount: int) -> None:
            advance(amount)
            if name == os.environ.get("DATAVER_TEST_BLOCK") and _first.acquire(blocking=False):
                sys.stderr.write(f"dataver-test: in {name}\n")
                sys.stderr.flush()
                _released.wait(120)

        yield advance_then_wait


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _on_sigint)
    progress.task = _blocking_task  # type: ignore[assignment]
    import _dataver_cli

    sys.exit(_dataver_cli.main())
