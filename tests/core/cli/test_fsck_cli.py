"""``dataver fsck``: exit codes a script can trust, what it prints, and its --json shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import dataver
from dataver.layout import claim_key
from dataver.versions.records import Pointer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def _version(registry_path: Path, data: Path) -> dataver.Dataset:
    ds = dataver.Registry(registry_path).create("ds")
    ds.add_files(data)
    ds.finalize(auto_upload=True)
    return ds


def test_fsck_of_a_consistent_registry_exits_0(
    cli: Callable[..., Run],
    registry_path: Path,
    data: Path,
    shape: Callable[[str, Any], None],
) -> None:
    _version(registry_path, data)
    text = cli("--registry", str(registry_path), "fsck")
    assert "registry is consistent" in text.out
    document = cli("--registry", str(registry_path), "fsck", "--json").json()
    shape("fsck", document)
    assert (document["ok"], document["versions"], document["problems"]) == (True, 1, [])


def test_fsck_exits_1_on_damage_and_repair_leaves_it(
    dv: Callable[..., Run], registry_path: Path, data: Path
) -> None:
    _version(registry_path, data)
    for pack in (registry_path / "packs").rglob("*"):
        if pack.is_file():
            pack.unlink()
    found = dv("--registry", registry_path, "fsck", code=1)
    assert "ERROR" in found.out
    assert "missing-content" in found.out
    assert "1 problem in" in found.error()
    repaired = dv("--registry", registry_path, "fsck", "--repair", "--json", code=1)
    document = json.loads(repaired.out)
    assert document["repaired"] == []
    assert [p["kind"] for p in document["problems"]] == ["missing-content"]
    assert document["problems"][0]["repairable"] is False


def test_fsck_repair_fixes_leftovers_and_says_what_it_did(
    cli: Callable[..., Run], registry_path: Path, data: Path
) -> None:
    ds = _version(registry_path, data)
    dataver.Registry(registry_path).store.create(
        claim_key(ds.record.dataset_id, "7.0.0"), Pointer(target="a" * 32).to_bytes()
    )
    args = ("--registry", str(registry_path), "fsck", "--grace-seconds", "0")
    found = cli(*args, code=1)
    assert "leftover" in found.out
    assert "orphan-claim" in found.out
    assert "dataver fsck --repair" in found.hint()
    fixed = cli(*args, "--repair")
    assert "repaired  orphan-claim" in fixed.out
    assert "registry is consistent" in fixed.out
    cli(*args)
