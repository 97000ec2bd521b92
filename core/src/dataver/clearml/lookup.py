"""Finding versions the way ClearML's ``Dataset.get`` and ``list_datasets`` do, and saying
what they are in ClearML's words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataver.errors import DatasetLookupError, NotFoundError
from dataver.versions import semver
from dataver.versions.state import State

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry

STATUS = {
    State.UPLOADING: "in_progress",
    State.FINAL: "completed",
    State.PUBLISHED: "published",
    State.FAILED: "failed",
    State.ABORTED: "stopped",
}
"""ClearML's status word for each dataver state (what ``list_datasets`` reports)."""


def find(
    registry: Registry,
    dataset_id: str | None,
    project: str | None,
    name: str | None,
    tags: Sequence[str] | None,
    version: str | None,
    states: tuple[State, ...] | None,
) -> Dataset:
    """The version asked for; raises DatasetLookupError (a ValueError) when none matches."""
    if dataset_id:
        try:
            found = registry.get(dataset_id, states=None)
        except NotFoundError as exc:
            raise DatasetLookupError(
                f"Dataset id={dataset_id} not found", version_id=dataset_id
            ) from exc
        if states is not None and found.state not in states:
            raise DatasetLookupError(
                f"Dataset id={dataset_id} is {STATUS[found.state]}, not "
                + " or ".join(STATUS[s] for s in states),
                version_id=dataset_id,
            )
        return found
    candidates = versions_of(registry, project, name, version, states, tags)
    top = semver.highest(v.version for v in candidates)
    return next((v for v in candidates if v.version == top), candidates[0])


def versions_of(
    registry: Registry,
    project: str | None,
    name: str | None,
    version: str | None,
    states: tuple[State, ...] | None = None,
    tags: Sequence[str] | None = None,
) -> list[Dataset]:
    """Every version of the dataset matching the filters, newest first; never empty."""
    wanted = semver.normalize(version) if version else None
    found = [
        v
        for v in registry.list(project=project, name=name, states=states)
        if (wanted is None or v.version == wanted) and (not tags or set(tags) & set(v.tags))
    ]
    if not found:
        what = "/".join(p for p in (project, name) if p) + (
            f" version {version}" if version else ""
        )
        raise DatasetLookupError(
            f"Could not find Dataset {what}"
            + (f" in states {', '.join(STATUS[s] for s in states)}" if states else ""),
            project=project,
            name=name,
        )
    return found


def summary(version: Dataset) -> dict[str, Any]:
    return {
        "name": version.name,
        "created": version.created_at,
        "project": version.project,
        "id": version.id,
        "tags": list(version.tags),
        "version": version.version,
        "status": STATUS[version.state],
    }


def in_project(project: str, wanted: str, recursive: bool) -> bool:
    return project == wanted or (recursive and project.startswith(wanted.rstrip("/") + "/"))
