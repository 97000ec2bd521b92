"""Settings come from DATAVER_* at call time; invalid values are ConfigurationErrors."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.errors import ConfigurationError
from dataver.settings import Settings, get_settings

if TYPE_CHECKING:
    from pathlib import Path


def test_suite_is_isolated_from_the_user_cache(tmp_path: Path, cache_dir: Path) -> None:
    settings = get_settings()
    assert settings.cache_dir == cache_dir == tmp_path / "cache"
    assert settings.registry == str(tmp_path / "default-registry")


def test_settings_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().lease_seconds == 600.0
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", "2.5")
    monkeypatch.setenv("DATAVER_MAX_WORKERS", "3")
    assert (get_settings().lease_seconds, get_settings().max_workers) == (2.5, 3)
    assert dataver.Settings is Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATAVER_LEASE_SECONDS", "0"),
        ("DATAVER_MAX_WORKERS", "zero"),
        ("DATAVER_HASH_ALGORITHM", "md5"),
        ("DATAVER_PACK_SIZE", "1"),
    ],
)
def test_invalid_setting_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"invalid setting {name}='{value}'") as info:
        dataver.Registry(tmp_path / "reg")
    assert info.value.setting == name
    assert isinstance(info.value, ValueError)


def test_hash_algorithm_is_recorded_per_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, registry_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"hash me")
    monkeypatch.setenv("DATAVER_HASH_ALGORITHM", "sha256")
    sha_parent = dataver.Registry(registry_path).create("sha")
    sha_parent.add_files(tmp_path / "f")
    sha_parent.finalize(auto_upload=True)
    entry = next(sha_parent.entries())
    assert entry.hash == hashlib.sha256(b"hash me").hexdigest()
    assert sha_parent.record.hash_algorithm == "sha256"

    monkeypatch.delenv("DATAVER_HASH_ALGORITHM")
    reg = dataver.Registry(registry_path)
    child = reg.create("sha", parents=[sha_parent])  # inherits its parent's algorithm
    assert child.record.hash_algorithm == "sha256"
    (tmp_path / "g").write_bytes(b"more")
    child.add_files(tmp_path / "g")
    child.finalize(auto_upload=True)
    assert child.verify() == []
    assert child.get_local_copy().joinpath("g").read_bytes() == b"more"

    blake = reg.create("blake")
    blake.finalize()
    assert blake.record.hash_algorithm == "blake3"
    with pytest.raises(dataver.ValidationError, match="different hash algorithms"):
        reg.create("mixed", parents=[sha_parent, blake])
