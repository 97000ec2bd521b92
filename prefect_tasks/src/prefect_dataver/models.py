"""``VersionInfo``: what every version task returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import dataver


class VersionInfo(BaseModel):
    """A summary of one dataset version, as returned by the prefect-dataver tasks.

    Tasks that take a version accept a ``VersionInfo`` or a version id, so the result of one
    task can be passed straight to the next.

    Attributes:
        id: The version id (32 hex characters).
        name: Dataset name.
        project: Dataset project.
        version: Semantic version string.
        state: ``uploading``, ``final``, ``published``, ``failed`` or ``aborted``.
        uri: ``dataver://<project>/<name>@<version>``.
        stats: Files, logical/stored bytes and the change counts against the parents.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    project: str
    version: str
    state: str
    uri: str
    stats: dict[str, int]

    @classmethod
    def from_dataset(cls, ds: dataver.Dataset) -> VersionInfo:
        """Summarise a :class:`dataver.Dataset`.

        Args:
            ds: The version.

        Returns:
            Its ``VersionInfo``.
        """
        return cls(
            id=ds.id,
            name=ds.name,
            project=ds.project,
            version=ds.version,
            state=ds.state.value,
            uri=ds.uri,
            stats=ds.stats.model_dump(),
        )


VersionRef = VersionInfo | str
"""A version given as its ``VersionInfo`` or its id."""


def version_id(ref: VersionRef | dict[str, Any]) -> str:
    """The id of a version reference.

    Args:
        ref: A :class:`VersionInfo`, a mapping with an ``id`` key, or an id.

    Returns:
        The version id.

    Raises:
        ValueError: The reference is empty.
    """
    if isinstance(ref, VersionInfo):
        return ref.id
    if isinstance(ref, dict):
        return str(ref["id"])
    if not ref:
        raise ValueError("version id is empty")
    return str(ref)


Parents = str | VersionInfo | Sequence[VersionInfo | str] | None
"""``"latest"``, a version id or ``VersionInfo``, a list of versions (``VersionInfo`` or ids), or
None; ``dataver.Registry.resolve_parents`` reads it."""


def parent_refs(parents: Parents) -> Sequence[VersionInfo | str] | Literal["latest"] | str | None:
    """``parents`` as the SDK takes it: a lone ``VersionInfo`` becomes a list of one."""
    return [parents] if isinstance(parents, VersionInfo) else parents
