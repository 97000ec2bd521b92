"""gc never deletes the content of a version whose record it cannot read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import FormatError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.mark.parametrize("damage", ["newer format", "not json"])
def test_gc_refuses_to_run_past_a_record_it_cannot_read(
    finalized: Callable[..., dataver.Dataset],
    registry: dataver.Registry,
    registry_path: Path,
    content_files: Callable[[Path], set[str]],
    damage: str,
) -> None:
    keep = finalized({"a.txt": b"kept"})
    other = finalized({"b.txt": b"owned by a record gc cannot read"}, name="other")
    record = registry_path / "versions" / f"{other.id}.json"
    if damage == "newer format":  # written by a future dataver, say
        raw = json.loads(record.read_text())
        record.write_text(json.dumps({**raw, "format": 2}))
    else:
        record.write_bytes(b"\x00garbage")
    before = content_files(registry_path)
    with pytest.raises(FormatError, match=f"gc refuses to run: version record versions/{other.id}"):
        registry.gc(dry_run=False, grace_seconds=0)
    assert content_files(registry_path) == before  # nothing deleted
    assert [p.kind for p in registry.fsck().problems] == ["unreadable-record"]
    record.unlink()  # once the operator deletes it, its content is garbage like any other
    plan = registry.gc(dry_run=False, grace_seconds=0)
    assert plan.freed_bytes > 0
    assert keep.reload().get_local_copy().joinpath("a.txt").read_bytes() == b"kept"
