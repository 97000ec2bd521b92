"""The version life cycle as data: states and the transitions allowed between them."""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType

from dataver.errors import InvalidTransitionError


class State(str, Enum):
    """The state of a dataset version.

    ``uploading`` -> ``final`` -> ``published``; ``uploading`` -> ``failed`` or ``aborted``.
    A delete is not a state: it removes the record (see :mod:`dataver.ops.delete`).
    """

    UPLOADING = "uploading"
    FAILED = "failed"
    ABORTED = "aborted"
    FINAL = "final"
    PUBLISHED = "published"

    def __str__(self) -> str:
        return self.value


TRANSITIONS = MappingProxyType(
    {
        State.UPLOADING: frozenset({State.FINAL, State.FAILED, State.ABORTED}),
        State.FINAL: frozenset({State.PUBLISHED}),
        State.PUBLISHED: frozenset(),
        State.FAILED: frozenset(),
        State.ABORTED: frozenset(),
    }
)
"""Allowed moves. Who may delete what (Published and Uploading only with ``force``, nothing
with live children) is the delete operation's rule (:mod:`dataver.ops.delete`)."""
READABLE = frozenset({State.FINAL, State.PUBLISHED})
"""States whose content is complete: readable, usable as parents."""
LIVE = frozenset({State.UPLOADING, State.FINAL, State.PUBLISHED})
"""States that hold their parents: a version with a live child cannot be deleted."""


def parse_state(value: str | State) -> State:
    """Return the :class:`State` named by ``value``.

    Raises:
        InvalidTransitionError: ``value`` names no state (it is a ValueError too).
    """
    try:
        return State(str(value).lower())
    except ValueError:
        names = ", ".join(s.value for s in State)
        raise InvalidTransitionError(
            f"unknown state {value!r}; states are: {names}", state=str(value)
        ) from None


def check_transition(current: State, target: State, *, version_id: str) -> None:
    """Raise unless ``current`` may move to ``target``.

    Raises:
        InvalidTransitionError: The table does not allow the move; the message names both.
    """
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing"
        raise InvalidTransitionError(
            f"version {version_id} is {current.value}: cannot become {target.value} "
            f"(allowed next: {allowed})",
            version_id=version_id,
            state=current.value,
            target=target.value,
        )


def require(current: State, allowed: frozenset[State], action: str, *, version_id: str) -> None:
    """Raise unless ``current`` is one of ``allowed`` for ``action``.

    Raises:
        InvalidTransitionError: Naming the version, its state and the action.
    """
    if current not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise InvalidTransitionError(
            f"cannot {action} version {version_id}: it is {current.value}, must be {wanted}",
            version_id=version_id,
            state=current.value,
            action=action,
        )
