"""``parents="latest"`` | ids | None, as the Airflow provider understands it."""

from __future__ import annotations

from collections.abc import Sequence

import dataver
from prefect_dataver.models import VersionInfo, version_id

Parents = str | Sequence[VersionInfo | str] | None
"""``"latest"``, a version id, a list of versions (``VersionInfo`` or ids), or None."""


def parent_ids(registry: dataver.Registry, name: str, project: str, parents: Parents) -> list[str]:
    """Resolve a parents argument to version ids.

    Args:
        registry: The registry.
        name: Dataset name (for ``"latest"``).
        project: Dataset project (for ``"latest"``).
        parents: ``"latest"`` (the newest Final/Published version of the dataset, none for
            the first version), a version id, a list of versions, or None.

    Returns:
        The parent version ids, in merge order.
    """
    if parents is None:
        return []
    if isinstance(parents, str):
        if parents == "latest":
            try:
                return [registry.get(name=name, project=project).id]
            except dataver.VersionNotFoundError:
                return []
        return [parents]
    if isinstance(parents, VersionInfo):
        return [parents.id]
    return [version_id(p) for p in parents]
