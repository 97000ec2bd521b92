"""Squash versions into one parentless Final version, without moving any content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataver.errors import ValidationError
from dataver.lineage import ancestry
from dataver.manifest.merge import merge_manifests
from dataver.manifest.reader import Manifest
from dataver.ops.create import confirm_parents, create_version
from dataver.ops.transition import finalize_record
from dataver.versions import repo
from dataver.versions.state import READABLE, require

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.versions.records import VersionRecord


def squash_versions(
    backend: Backend, ids: list[str], *, name: str, project: str
) -> tuple[VersionRecord, str]:
    """Create a Final version whose tree is the merge of ``ids`` (later wins).

    A listed version that is an ancestor of a later listed one adds nothing: the later
    manifest is complete and already reflects its removals, which are kept.

    Raises:
        ValidationError: ``ids`` is empty or mixes hash algorithms.
        InvalidTransitionError: A version is not Final or Published.
    """
    if not ids:
        raise ValidationError("squash needs at least one version id")
    store = backend.store
    records = [repo.load(store, i)[0] for i in ids]
    for record in records:
        require(record.state, READABLE, "squash", version_id=record.id)
    algorithms = {r.hash_algorithm for r in records}
    if len(algorithms) > 1:
        raise ValidationError(f"cannot squash versions with different hashes: {algorithms}")
    algorithm = algorithms.pop()
    later_ancestry = [set(ancestry(store, r.id)) - {r.id} for r in records]
    kept = [
        r
        for i, r in enumerate(records)
        if not any(r.id in later_ancestry[j] for j in range(i + 1, len(records)))
    ]
    merged = merge_manifests(
        store, [Manifest(store, r.manifest, algorithm) for r in kept], algorithm
    )
    record, token = create_version(
        backend,
        name=name,
        project=project,
        parents=[],
        version=None,
        tags=None,
        description=f"squash of {', '.join(ids)}",
        metadata=None,
        provenance={"squashed_from": list(ids)},
    )
    record = record.model_copy(update={"manifest": merged, "hash_algorithm": algorithm})
    record, token = repo.save(store, record, token)
    # NOTE: until the record named the merged manifest, nothing kept gc from the content it
    # shares with the sources: they must still be there now.
    confirm_parents(store, record, token, sources=tuple(ids))
    return repo.save(store, finalize_record(backend, record), token)
