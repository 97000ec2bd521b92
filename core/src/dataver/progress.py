"""Progress of long operations (hashing, upload, download), for whoever listens.

The core reports; it never draws. A front end (the CLI's rich bars, or periodic log lines in
CI and Airflow logs) installs a :class:`Reporter` for a block of work with :func:`reporting`;
without one, reporting costs one context-variable lookup per operation.

Example:
    >>> class Printer:
    ...     def start(self, name, total, unit):
    ...         print("start", name, total, unit)
    ...         return 1
    ...
    ...     def advance(self, task, amount):
    ...         pass
    ...
    ...     def finish(self, task):
    ...         print("done")
    >>> with reporting(Printer()), task("hash", 10) as advance:
    ...     advance(10)
    start hash 10 B
    done
"""

from __future__ import annotations

import contextlib
import threading
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class Reporter(Protocol):
    """Receives progress; ``advance`` is called from worker threads, so it must be thread-safe."""

    def start(self, name: str, total: int | None, unit: str) -> int:
        """A task begins (``total`` in ``unit``s, None if unknown); return its handle."""
        ...

    def advance(self, task: int, amount: int) -> None:
        """``amount`` more units of ``task`` are done."""
        ...

    def finish(self, task: int) -> None:
        """``task`` ended (successfully or not)."""
        ...


_current: ContextVar[Reporter | None] = ContextVar("dataver_progress", default=None)


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Send the progress of the operations run inside the block to ``reporter``."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)


def _ignore(amount: int) -> None:
    del amount


@contextlib.contextmanager
def task(name: str, total: int | None, unit: str = "B") -> Iterator[Callable[[int], None]]:
    """Report one task; yields the thread-safe ``advance(amount)`` to call as work is done."""
    reporter = _current.get()
    if reporter is None:
        yield _ignore
        return
    handle = reporter.start(name, total, unit)
    lock = threading.Lock()

    def advance(amount: int) -> None:
        with lock:
            reporter.advance(handle, amount)

    try:
        yield advance
    finally:
        reporter.finish(handle)


def chain(*callbacks: Callable[[int], None] | None) -> Callable[[int], None]:
    """One callback calling every given one (None entries are skipped)."""
    active = [c for c in callbacks if c is not None]

    def call(amount: int) -> None:
        for callback in active:
            callback(amount)

    return call
