"""The one retry policy: transient storage errors only, exponential backoff with jitter.

And the deadline every remote storage call runs under (:func:`call_with_deadline`): a call
that stops moving is given up and surfaces as a :class:`~dataver.errors.TransientStorageError`,
which the policy retries like any dropped connection.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

import tenacity

from dataver.errors import TransientStorageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataver.settings import Settings

T = TypeVar("T")
log = logging.getLogger("dataver.retry")


def _log_attempt(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "transient storage error (attempt %d), retrying in %.2fs: %s",
        state.attempt_number,
        state.next_action.sleep if state.next_action else 0.0,
        error,
    )


def retry_policy(settings: Settings) -> tenacity.Retrying:
    """Build the retry policy from settings.

    Only :class:`~dataver.errors.TransientStorageError` is retried; integrity, state and
    conflict errors surface at once. The last error is re-raised unchanged.
    """
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TransientStorageError),
        stop=tenacity.stop_after_attempt(settings.retry_attempts),
        wait=tenacity.wait_random_exponential(multiplier=0.2, max=settings.retry_max_wait),
        before_sleep=_log_attempt,
        reraise=True,
    )


def call_with_retry(settings: Settings, func: Callable[[], T]) -> T:
    """Call ``func`` under the retry policy. ``func`` must restart cleanly (fresh streams)."""
    return retry_policy(settings)(func)


class Watch:
    """What a call under :func:`call_with_deadline` sees of its deadline."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self._lock = threading.Lock()
        self._abandoned = False
        self._hooks: list[Callable[[], object]] = []

    def moved(self, amount: int) -> None:
        """``amount`` bytes went through: the deadline starts over."""
        del amount
        self.last = time.monotonic()

    def on_abandon(self, hook: Callable[[], object]) -> None:
        """Call ``hook`` if the caller gives up (at once if it already has): cancel the work."""
        with self._lock:
            if not self._abandoned:
                self._hooks.append(hook)
                return
        hook()

    def _abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # NOTE: the call is given up anyway: say so and go on
                log.debug("cancelling an abandoned storage call failed", exc_info=True)


def call_with_deadline(
    func: Callable[[Watch], T], *, seconds: float, what: str, **fields: Any
) -> T:
    """Call ``func(watch)`` and wait for it at most ``seconds`` after its last sign of life.

    ``func`` runs in a thread of its own and may call ``watch.moved(amount)`` as bytes go
    through: each call restarts the clock, so a long transfer that keeps moving is never cut,
    while a call that stops (an answer that never comes, or comes a byte a minute) is. Its
    thread is then abandoned, as a socket call blocked in another thread cannot be interrupted;
    the hooks it gave ``watch.on_abandon`` run (cancel a transfer), it ends when its own
    connect or read timeout fires, and whatever it returns is dropped.

    Args:
        func: The call; it receives its :class:`Watch`.
        seconds: How long the call may go without returning or moving a byte.
        what: What the call does, for the error message (no credentials).
        **fields: Structured fields for the error (e.g. ``key``).

    Returns:
        What ``func`` returned.

    Raises:
        TransientStorageError: The deadline passed. Anything ``func`` raised is re-raised.
    """
    watch = Watch()
    done = threading.Event()
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        # NOTE: BaseException too: the caller re-raises it, and nothing may escape this
        # thread (an abandoned call's late failure is nobody's business any more).
        try:
            outcome.append((True, func(watch)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="dataver-storage-call", daemon=True).start()
    while not done.wait(max(watch.last + seconds - time.monotonic(), 0.0)):
        if time.monotonic() - watch.last >= seconds:
            watch._abandon()
            raise TransientStorageError(
                f"{what}: no progress for {seconds:g} s (DATAVER_OPERATION_TIMEOUT); given up",
                timeout=seconds,
                **fields,
            )
    ok, value = outcome.pop()
    # NOTE: ``outcome`` is emptied first: the error's traceback holds this frame, and the
    # list in it held the error, a cycle that kept the caller's locals (a pack to write)
    # alive until the cyclic collector ran.
    if ok:
        result: T = value
        return result
    try:
        raise value
    finally:
        del value
