"""The version life cycle as data (DESIGN.md section 4): every allowed and forbidden transition."""

from __future__ import annotations

import itertools
from types import MappingProxyType

import pytest

import dataver
from dataver.errors import InvalidTransitionError
from dataver.versions.state import (
    READABLE,
    TRANSITIONS,
    State,
    check_transition,
    parse_state,
    require,
)

U, FA, AB, FI, PU = State.UPLOADING, State.FAILED, State.ABORTED, State.FINAL, State.PUBLISHED

# The table of DESIGN.md section 4, written out independently of the code.
ALLOWED = {(U, FI), (U, FA), (U, AB), (FI, PU)}
ALL_PAIRS = list(itertools.product(State, State))


def test_states_are_the_five_string_values() -> None:
    assert [s.value for s in State] == ["uploading", "failed", "aborted", "final", "published"]
    assert State.FINAL == "final"
    assert str(State.PUBLISHED) == "published"
    assert f"{State.ABORTED}" == "aborted"
    assert dataver.State is State


def test_table_matches_the_design() -> None:
    assert isinstance(TRANSITIONS, MappingProxyType)
    assert set(TRANSITIONS) == set(State)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED
    assert frozenset({FI, PU}) == READABLE


def test_table_is_immutable() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[FI] = frozenset({U})  # type: ignore[index]
    assert isinstance(TRANSITIONS[U], frozenset)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transition(current: State, target: State) -> None:
    assert check_transition(current, target, version_id="v1") is None


@pytest.mark.parametrize(("current", "target"), [pair for pair in ALL_PAIRS if pair not in ALLOWED])
def test_forbidden_transition(current: State, target: State) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        check_transition(current, target, version_id="v1")
    error = info.value
    assert error.fields == {"version_id": "v1", "state": current.value, "target": target.value}
    assert f"is {current.value}: cannot become {target.value}" in str(error)
    allowed = sorted(t.value for t in TRANSITIONS[current]) or ["nothing"]
    assert f"(allowed next: {', '.join(allowed)})" in str(error)


@pytest.mark.parametrize("terminal", [FA, AB, PU])
def test_terminal_states_allow_nothing(terminal: State) -> None:
    assert TRANSITIONS[terminal] == frozenset()
    for target in State:
        with pytest.raises(InvalidTransitionError, match="allowed next: nothing"):
            check_transition(terminal, target, version_id="v")


@pytest.mark.parametrize(
    ("text", "state"),
    [("uploading", U), ("FINAL", FI), ("Published", PU), (State.FAILED, FA), ("aborted", AB)],
)
def test_parse_state(text: str, state: State) -> None:
    assert parse_state(text) is state


@pytest.mark.parametrize("text", ["", "done", "finalized", "closed"])
def test_parse_state_rejects_unknown_names(text: str) -> None:
    with pytest.raises(InvalidTransitionError, match="states are: uploading, failed") as info:
        parse_state(text)
    assert isinstance(info.value, ValueError)
    assert info.value.fields == {"state": text}


def test_require_names_version_state_and_action() -> None:
    assert require(FI, READABLE, "read", version_id="abc") is None
    with pytest.raises(InvalidTransitionError) as info:
        require(U, READABLE, "read", version_id="abc")
    assert str(info.value) == (
        "cannot read version abc: it is uploading, must be final or published"
    )
    assert info.value.fields == {"version_id": "abc", "state": "uploading", "action": "read"}
