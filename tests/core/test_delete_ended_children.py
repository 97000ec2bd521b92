"""Failed and Aborted children do not hold their parent; live ones do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize("end", ["abort", "fail"])
def test_a_parent_whose_children_all_ended_can_be_deleted(
    registry: dataver.Registry, finalized: Callable[..., dataver.Dataset], end: str
) -> None:
    parent = finalized({"a": b"1"})
    child = registry.create("ds", parents=[parent])
    getattr(child, end)("gave up")
    registry.delete(parent.id)
    with pytest.raises(dataver.VersionNotFoundError):
        registry.get(parent.id, states=None)
    assert registry.get(child.id, states=None).state.value in {"aborted", "failed"}


def test_a_live_child_still_holds_its_parent(
    registry: dataver.Registry, finalized: Callable[..., dataver.Dataset]
) -> None:
    parent = finalized({"a": b"1"})
    registry.create("ds", parents=[parent]).abort()
    live = registry.create("ds", parents=[parent])
    with pytest.raises(dataver.HasChildrenError) as caught:
        registry.delete(parent.id, force=True)
    assert caught.value.children == [live.id]
