"""A location is a registry once it holds the marker: exists(), must_exist and initialize()."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dataver

if TYPE_CHECKING:
    from pathlib import Path


def test_opening_a_location_creates_nothing(tmp_path: Path) -> None:
    reg = dataver.Registry(tmp_path / "reg")
    assert (reg.exists(), reg.list()) == (False, [])
    assert not (tmp_path / "reg").exists()


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda p: None, "the folder does not exist"),
        (lambda p: p.mkdir(), "the folder is empty"),
        (lambda p: (p.mkdir(), (p / "x").write_text("x")), "the folder holds no dataver.json"),
        (lambda p: p.write_text("x"), "it is not a folder"),
    ],
    ids=["missing", "empty", "other-files", "a-file"],
)
def test_must_exist_names_what_is_there(tmp_path: Path, make: object, what: str) -> None:
    target = tmp_path / "reg"
    make(target)  # type: ignore[operator]
    with pytest.raises(dataver.RegistryNotFoundError, match=what) as info:
        dataver.Registry(target, must_exist=True)
    assert info.value.fields["url"] == f"file://{target}"


def test_initialize_makes_a_registry_once(tmp_path: Path) -> None:
    reg = dataver.Registry(tmp_path / "reg")
    assert reg.initialize() is True
    assert reg.initialize() is False
    assert dataver.Registry(tmp_path / "reg", must_exist=True).exists()


def test_creating_a_version_makes_a_registry(tmp_path: Path) -> None:
    reg = dataver.Registry(tmp_path / "reg")
    reg.create("d")
    assert dataver.Registry(tmp_path / "reg", must_exist=True).list(states=None)
