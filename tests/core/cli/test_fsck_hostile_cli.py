"""``dataver fsck`` with hostile records: every problem printed, exit 1, repair, usable again.

It used to print one ``error:`` line (``UnsafePathError`` from the first record with ``../``
in a field) and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataver
from dataver.layout import claim_key, record_key
from dataver.versions.records import Pointer

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Run

FORGED: dict[str, Any] = {
    "dataset_id": "../../outside",
    "manifest": "../../../../outside",
    "base_manifest": "ab/../../cd",
    "staged": "..\\..\\x",
    "version": "../../1.0.0",
    "parents": ["../x"],
}


def _version(registry: dataver.Registry, tmp_path: Path, name: str) -> dataver.Dataset:
    folder = tmp_path / f"src-{name}"
    folder.mkdir()
    (folder / f"{name}.txt").write_bytes(f"bytes of {name}".encode())
    ds = registry.create(name)
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    return ds


def test_fsck_prints_every_hostile_record_exits_1_and_repair_makes_the_registry_usable(
    dv: Callable[..., Run], cli: Callable[..., Run], registry_path: Path, tmp_path: Path
) -> None:
    registry = dataver.Registry(registry_path)
    good = _version(registry, tmp_path, "good")
    forged = {}
    for field, value in FORGED.items():
        ds = _version(registry, tmp_path, field)
        path = registry_path / record_key(ds.id)
        path.write_text(json.dumps({**json.loads(path.read_text()), field: value}))
        forged[field] = ds
    # An unrelated leftover, so the run must go on past the forged records to find it.
    orphan = claim_key(good.record.dataset_id, "7.0.0")
    registry.store.create(orphan, Pointer(target="a" * 32).to_bytes())
    args = ("--registry", str(registry_path), "fsck", "--grace-seconds", "0")

    found = dv(*args, code=1)  # the real console script

    lines = found.out.splitlines()
    for field, ds in forged.items():
        line = next(line for line in lines if record_key(ds.id) in line)
        assert line.split()[:2] == ["ERROR", "hostile-record"], line
        assert field in line, line
    assert any(line.split()[:3] == ["leftover", "orphan-claim", f"{orphan}:"] for line in lines)
    assert f"{len(forged) + 1} problems in" in found.error()
    assert "dataver fsck --repair" in found.hint()
    document = cli(*args, "--json", code=1).json()
    kinds = sorted(p["kind"] for p in document["problems"])
    assert kinds == ["hostile-record"] * len(forged) + ["orphan-claim"]
    # Meanwhile, listings still answer (the forged records may show or be skipped).
    registry_args = ("--registry", str(registry_path))
    assert good.id in {v["id"] for v in cli(*registry_args, "search", "--json").json()}
    assert "good" in {d["name"] for d in cli(*registry_args, "ls", "--json").json()}

    fixed = cli(*args, "--repair")

    assert fixed.out.count("repaired  hostile-record") == len(forged)
    assert "moved to quarantine/" in fixed.out
    assert "registry is consistent" in fixed.out
    listed = cli(*registry_args, "search", "--json").json()
    assert [v["id"] for v in listed] == [good.id]
    cli(*registry_args, "gc", "--execute", "--grace-seconds", "0")
    got = cli(*registry_args, "get", "--id", good.id)
    assert (Path(got.out.strip()) / "good.txt").read_bytes() == b"bytes of good"
    cli(*args)
