"""The one retry policy: transient storage errors only, exponential backoff with jitter."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeVar

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
