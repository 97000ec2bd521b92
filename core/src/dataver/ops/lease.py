"""Keeping an Uploading version's lease alive while it makes progress."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dataver import progress
from dataver.errors import ConflictError, StorageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@contextmanager
def heartbeat(renew: Callable[[], None], interval: float, name: str) -> Iterator[None]:
    """Call ``renew`` every ``interval`` seconds on a thread while the block runs.

    No renewal while storage calls wait and nothing moved since the last beat (the beat's
    own calls do not count): a build stuck on a call lets its lease lapse, so others see it
    stale. Local work (hashing) is not stuck. A :class:`ConflictError` (the version was
    ended or taken over) stops the beat; a storage error out of retries waits for the next.
    """
    stop = threading.Event()

    def beat() -> None:
        seen = progress.pulses()
        with progress.unobserved():
            while not stop.wait(interval):
                if progress.stuck(seen):
                    continue
                seen = progress.pulses()
                try:
                    renew()
                except ConflictError:
                    return
                except StorageError:
                    continue

    thread = threading.Thread(target=beat, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
