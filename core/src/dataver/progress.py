"""Progress of long operations (hashing, upload, download), for whoever listens.

The core reports; it never draws. A front end (the CLI's rich bars, or periodic log lines in
CI and Airflow logs) installs a :class:`Reporter` for a block of work with :func:`reporting`;
without one, reporting costs one context-variable lookup per operation.

Apart from that, a store that can hang (S3) says when a call is in flight (:func:`waiting`)
and counts what moves (:func:`pulse`: each completed call, each chunk transferred); a writer's
lease heartbeat skips its renewal while calls wait and nothing moved (:func:`stuck`).

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

_pulse_lock = threading.Lock()
_pulses = 0
_waiting = 0
_unobserved = threading.local()


def pulse() -> None:
    """Storage moved: a call completed or a chunk went through (any thread may call this)."""
    global _pulses
    if getattr(_unobserved, "on", False):
        return
    with _pulse_lock:
        _pulses += 1


def pulses() -> int:
    """How many times :func:`pulse` counted in this process so far."""
    return _pulses


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """A storage call is in flight inside the block (it may hang: see :func:`stuck`)."""
    global _waiting
    if getattr(_unobserved, "on", False):
        yield
        return
    with _pulse_lock:
        _waiting += 1
    try:
        yield
    finally:
        with _pulse_lock:
            _waiting -= 1


def stuck(seen: int) -> bool:
    """Whether this process waits on storage and nothing moved since :func:`pulses` was ``seen``.

    Work that waits on nothing (hashing a large file, encoding a manifest) is not stuck.
    """
    return _waiting > 0 and _pulses == seen


@contextlib.contextmanager
def unobserved() -> Iterator[None]:
    """Storage calls of this thread inside the block are neither waiting nor progress (a
    heartbeat's own)."""
    _unobserved.on = True
    try:
        yield
    finally:
        _unobserved.on = False


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
