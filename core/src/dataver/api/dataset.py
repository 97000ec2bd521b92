"""A dataset version: build it (add, remove, sync, upload, finalize), read it, trace it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataver.api.building import Building
from dataver.api.reading import Reading

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.api.parents import Parents
    from dataver.api.registry import Registry


class Dataset(Building, Reading):
    """One version of a dataset.

    Get one from :meth:`Registry.create`, :meth:`Registry.get` or :meth:`Registry.list`
    (or the ClearML-style :meth:`Dataset.create` / :meth:`Dataset.get`). Every change is a
    compare-and-swap on the version record: if another process changed the version since
    this object last saw it, the change raises :class:`~dataver.errors.ConflictError`.
    """

    @classmethod
    def create(
        cls,
        name: str,
        project: str = "default",
        parents: Parents = None,
        version: str | None = None,
        tags: Iterable[str] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        registry: Registry | None = None,
    ) -> Dataset:
        """Create a version on ``registry`` or the configured one (``DATAVER_REGISTRY``).

        See :meth:`Registry.create` for the arguments.
        """
        return _registry(registry).create(
            name, project, parents, version, tags, description, metadata
        )

    @classmethod
    def get(
        cls, id: str | None = None, *, registry: Registry | None = None, **query: Any
    ) -> Dataset:
        """Get a version from ``registry`` or the configured one; see :meth:`Registry.get`."""
        return _registry(registry).get(id, **query)


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from dataver.api.registry import Registry

    return Registry()
