"""Progress of long operations (hashing, upload, download), for whoever listens.

The core reports; it never draws. A front end (the CLI's rich bars, or periodic log lines in
CI and Airflow logs) installs a :class:`Reporter` for a block of work with :func:`reporting`;
without one, reporting costs one context-variable lookup per operation.

Inside one long task, a store reports the bytes of one file as they move: the caller opens
:func:`transfer` around the store's call, and the store sends what it moved, chunk by chunk, to
:func:`transfer_callback` (a 1 GiB upload moves its bar while it goes, not at the end).

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
    ...     def finish(self, task, ok=True):
    ...         print("done" if ok else "stopped")
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

    def finish(self, task: int, ok: bool = True) -> None:
        """``task`` ended: ``ok`` when it completed, False when an error or an interrupt (Ctrl-C)
        stopped it (a front end must not then draw it as done)."""
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
    except BaseException:
        reporter.finish(handle, ok=False)
        raise
    reporter.finish(handle)


def chain(*callbacks: Callable[[int], None] | None) -> Callable[[int], None]:
    """One callback calling every given one (None entries are skipped)."""
    active = [c for c in callbacks if c is not None]

    def call(amount: int) -> None:
        for callback in active:
            callback(amount)

    return call


_transfer: ContextVar[Callable[[int], None] | None] = ContextVar("dataver_transfer", default=None)


@contextlib.contextmanager
def transfer(size: int, advance: Callable[[int], None] | None) -> Iterator[None]:
    """One file of ``size`` bytes moves inside the block: report its bytes as they go.

    A store reports what it moves to :func:`transfer_callback`; whatever it did not report (a
    store that cannot tell) is reported when the block ends without error. ``advance`` never
    receives more than ``size`` in all, even when a retried attempt sends bytes again, nor
    anything below zero.

    Example:
        >>> seen = []
        >>> with transfer(10, seen.append):
        ...     transfer_callback()(4)
        >>> seen
        [4, 6]
    """
    if advance is None:
        yield
        return
    capped = _Capped(size, advance)
    token = _transfer.set(capped)
    try:
        yield
    finally:
        _transfer.reset(token)
    capped.rest()


def transfer_callback() -> Callable[[int], None] | None:
    """Where a store reports the bytes it moves for the call it makes now, if anyone listens.

    Read it in the thread that called the store (a store that moves the bytes on threads of
    its own captures it first); None when no :func:`transfer` is open.
    """
    return _transfer.get()


class _Capped:
    """Bytes moved for one file, passed on up to its size: the high-water mark only."""

    def __init__(self, size: int, advance: Callable[[int], None]) -> None:
        self._size = size
        self._advance = advance
        self._position = 0
        self._reported = 0
        self._lock = threading.Lock()

    def __call__(self, amount: int) -> None:
        with self._lock:
            # NOTE: s3transfer reports a negative amount when it rewinds a retried part.
            self._position = min(max(self._position + amount, 0), self._size)
            more = self._position - self._reported
            if more <= 0:
                return
            self._reported = self._position
        self._advance(more)

    def rest(self) -> None:
        """The file is stored: report what the store did not."""
        with self._lock:
            more, self._reported = self._size - self._reported, self._size
            self._position = self._size
        if more > 0:
            self._advance(more)
