"""The fsync path of the local registry (the rest of the suite runs with DATAVER_FSYNC=0)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataver

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_durable_round_trip(
    tmp_path: Path, registry_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAVER_FSYNC", "1")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "small.txt").write_bytes(b"small")
    (src / "sub" / "large.bin").write_bytes(b"L" * (2 << 20))
    reg = dataver.Registry(registry_path)
    assert reg.settings.fsync is True
    ds = reg.create("ds")
    assert ds.add_files(src) == 2
    ds.finalize(auto_upload=True)
    again = dataver.Registry(registry_path).get(name="ds")
    assert again.id == ds.id
    copy = again.get_local_copy()
    assert (copy / "small.txt").read_bytes() == b"small"
    assert (copy / "sub" / "large.bin").read_bytes() == b"L" * (2 << 20)
    assert again.verify() == []
