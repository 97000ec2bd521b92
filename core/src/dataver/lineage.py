"""The ancestry graph of a version: version id -> its parent ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataver.errors import VersionNotFoundError
from dataver.versions import repo

if TYPE_CHECKING:
    from dataver.storage.base import Store


def ancestry(store: Store, version_id: str) -> dict[str, list[str]]:
    """Return ``{id: [parent ids]}`` for the version and every ancestor.

    A parent deleted by force is listed with no parents of its own.
    """
    graph: dict[str, list[str]] = {}
    todo = [version_id]
    while todo:
        current = todo.pop()
        if current in graph:
            continue
        try:
            record, _ = repo.load(store, current)
        except VersionNotFoundError:
            graph[current] = []
            continue
        graph[current] = list(record.parents)
        todo.extend(p for p in record.parents if p not in graph)
    return graph


def is_ancestor(store: Store, candidate: str, of: str) -> bool:
    """Whether ``candidate`` is a strict ancestor of ``of``."""
    return candidate != of and candidate in ancestry(store, of)
