"""Which version introduced each file of a version: ClearML's ``parent_dataset_id``.

dataver does not store an owner per entry (content is addressed by hash, wherever it came
from), so it is found from the lineage: a path a version added, changed or renamed to is
its own; any other path comes from the last parent holding it (a later parent wins, as it
did when the version was created), and is looked up there in turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry


def owners(
    registry: Registry, version: Dataset, paths: Iterable[str] | None = None
) -> dict[str, str]:
    """``{path: id of the version that introduced it}`` for ``paths`` (default: every file).

    Each ancestor is read once, children before parents, so the cost is one diff and one
    listing per version of the lineage that owns any of the paths.
    """
    graph = version.lineage()
    wanted: dict[str, set[str]] = {
        version.id: set(paths) if paths is not None else set(version.list_files())
    }
    found: dict[str, str] = {}
    for vid in _children_first(graph):
        todo = wanted.pop(vid, None)
        if not todo:
            continue
        current = version if vid == version.id else registry.get(vid, states=None)
        changed = introduced(current)
        for path in todo & changed:
            found[path] = vid
        rest = todo - changed
        for parent in reversed(graph.get(vid, [])):
            if not rest:
                break
            there = {p for p in registry.get(parent, states=None).list_files() if p in rest}
            wanted.setdefault(parent, set()).update(there)
            rest -= there
        for path in rest:  # NOTE: only if a parent is gone (deleted by force)
            found[path] = vid
    return found


def introduced(version: Dataset) -> set[str]:
    """The paths ``version`` added, changed or renamed to against its parents: its own."""
    diff = version.diff()
    return {*diff.added, *diff.modified, *(new for _, new in diff.renamed)}


def _children_first(graph: dict[str, list[str]]) -> list[str]:
    """The versions of ``graph`` ({id: parents}) ordered so that every child comes before
    its parents (Kahn's algorithm on child -> parent edges)."""
    children: dict[str, int] = dict.fromkeys(graph, 0)
    for parents in graph.values():
        for parent in parents:
            children[parent] = children.get(parent, 0) + 1
    ready = [vid for vid, count in children.items() if count == 0]
    order: list[str] = []
    while ready:
        vid = ready.pop()
        order.append(vid)
        for parent in graph.get(vid, []):
            children[parent] -= 1
            if children[parent] == 0:
                ready.append(parent)
    return order
