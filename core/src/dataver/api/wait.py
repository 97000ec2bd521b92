"""Waiting for a version to reach a state: one rule for the SDK, the CLI, Airflow and Prefect.

A :class:`Watch` names the version (an id; ``project/name`` at a version string; or the
newest version of ``project/name``, optionally newer than a given one) and the states that end
the wait. :meth:`Watch.check` looks once; :func:`wait_for` and :func:`wait_for_async` poll.
A version that Failed, was Aborted or is gone will never get there: the wait ends at once
with :class:`~dataver.errors.VersionBrokenError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataver.errors import (
    ValidationError,
    VersionBrokenError,
    VersionNotFoundError,
    WaitTimeoutError,
)
from dataver.versions import semver
from dataver.versions.repo import check_id
from dataver.versions.state import State, parse_state
from dataver.versions.wellformed import is_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry

READY = (State.FINAL, State.PUBLISHED)
"""What a wait waits for unless told otherwise."""
_BROKEN = frozenset({State.FAILED, State.ABORTED})


def _states(states: Iterable[str | State] | str | State) -> tuple[State, ...]:
    if isinstance(states, (str, State)):
        states = (states,)
    parsed = tuple(dict.fromkeys(parse_state(s) for s in states))
    if not parsed:
        raise ValidationError("a wait needs at least one target state")
    return parsed


@dataclass(frozen=True)
class Watch:
    """The version a wait is about, and the states that end it.

    Exactly one way to name the version: ``version_id``; or ``name`` (and ``project``) with
    ``version`` (a version string); or ``name`` alone for the dataset's newest version, newer
    than ``newer_than`` when given (a version id: created after it; a version string: a
    higher semantic version). Until such a version exists, :meth:`check` says "not yet".

    Raises:
        ValidationError: Neither ``version_id`` nor ``name``, both ``version`` and
            ``version_id``, or an unknown state.

    Example:
        >>> Watch(name="images", project="vision").describe()
        'newest version of vision/images'
    """

    version_id: str | None = None
    name: str | None = None
    project: str = "default"
    version: str | None = None
    newer_than: str | None = None
    states: tuple[State, ...] = field(default=READY)

    def __post_init__(self) -> None:
        if not self.version_id and not self.name:
            raise ValidationError("a wait needs a version id, or a dataset name (and project)")
        if self.version_id and self.version:
            raise ValidationError("give a version id or a version string, not both")
        object.__setattr__(self, "states", _states(self.states))

    def describe(self) -> str:
        """The watched version in words, for logs and errors."""
        if self.version_id:
            return f"version {self.version_id}"
        what = f"{self.project}/{self.name}"
        if self.version:
            return f"{what}@{self.version}"
        newer = f" newer than {self.newer_than}" if self.newer_than else ""
        return f"newest version of {what}{newer}"

    def wanted(self) -> str:
        """The target states in words (``final or published``)."""
        return " or ".join(s.value for s in self.states)

    def current(self, registry: Registry) -> Dataset | None:
        """The watched version as it is now (any state), or None while there is none.

        Raises:
            VersionBrokenError: A watched version id does not exist (any more): ids are made
                when a version is created, so it was deleted.
        """
        if self.version_id:
            try:
                return registry.get(check_id(self.version_id), states=None)
            except VersionNotFoundError as exc:
                raise VersionBrokenError(
                    f"{self.describe()} does not exist (it was deleted): {exc}",
                    version_id=self.version_id,
                ) from None
        if self.version:
            try:
                return registry.get(
                    name=self.name, project=self.project, version=self.version, states=None
                )
            except VersionNotFoundError:
                return None
        versions = registry.list(project=self.project, name=self.name)
        if self.newer_than:
            versions = [v for v in versions if self._is_newer(registry, v)]
        return versions[0] if versions else None

    def _is_newer(self, registry: Registry, ds: Dataset) -> bool:
        ref = str(self.newer_than)
        if is_id(ref):
            try:
                base = registry.get(ref, states=None)
            except VersionNotFoundError:
                return True  # NOTE: deleted since: every version there is now is newer
            return (ds.created_at, ds.id) > (base.created_at, base.id)
        try:
            return semver.parse(ds.version) > semver.parse(ref)
        except ValidationError:
            return False

    def check(self, registry: Registry) -> Dataset | None:
        """Look once: the version if it is in a target state, None while it is not (yet).

        Raises:
            VersionBrokenError: It Failed, was Aborted or is gone (and that is not a target).
        """
        ds = self.current(registry)
        if ds is None:
            return None
        if ds.state in self.states:
            return ds
        if ds.state in _BROKEN:
            raise VersionBrokenError(
                f"{self.describe()}: {ds.id} ({ds.name}@{ds.version}) is {ds.state.value}"
                + (f": {ds.error}" if ds.error else ""),
                version_id=ds.id,
                state=ds.state.value,
            )
        return None


def wait_for(registry: Registry, watch: Watch, timeout: float | None, poll: float) -> Dataset:
    """Poll until :meth:`Watch.check` finds the version; see :meth:`Registry.wait_for`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while (ds := watch.check(registry)) is None:
        if deadline is not None and time.monotonic() >= deadline:
            raise _timed_out(watch, timeout)
        time.sleep(poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0)))
    return ds


async def wait_for_async(
    registry: Registry, watch: Watch, timeout: float | None, poll: float
) -> Dataset:
    """:func:`wait_for` without blocking the event loop (registry reads run on a thread)."""
    # NOTE: imported here: a caller of this coroutine already runs asyncio, and every other
    # user of the SDK (each CLI call) would pay its ~15 ms import.
    import asyncio

    deadline = None if timeout is None else time.monotonic() + timeout
    while (ds := await asyncio.to_thread(watch.check, registry)) is None:
        if deadline is not None and time.monotonic() >= deadline:
            raise _timed_out(watch, timeout)
        left = poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0))
        await asyncio.sleep(left)
    return ds


def _timed_out(watch: Watch, timeout: float | None) -> WaitTimeoutError:
    return WaitTimeoutError(
        f"{watch.describe()} did not become {watch.wanted()} within {timeout:g} s",
        timeout=timeout,
    )
