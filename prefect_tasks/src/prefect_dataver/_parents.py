"""``parents="latest"`` | ids | None, as the Airflow provider understands it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from prefect_dataver.models import VersionInfo, version_id

Parents = str | Sequence[VersionInfo | str] | None
"""``"latest"``, a version id, a list of versions (``VersionInfo`` or ids), or None."""


def parents_arg(parents: Parents) -> list[str] | Literal["latest"]:
    """The ``parents`` argument of ``Registry.create``.

    Args:
        parents: ``"latest"`` (the dataset's newest Final/Published version, none for its
            first version: the core resolves it), a version id, a list of versions
            (``VersionInfo`` or ids), or None.

    Returns:
        ``"latest"``, or the parent version ids in merge order.
    """
    if parents is None:
        return []
    if isinstance(parents, str):
        return "latest" if parents == "latest" else [parents]
    if isinstance(parents, VersionInfo):
        return [parents.id]
    return [version_id(p) for p in parents]
