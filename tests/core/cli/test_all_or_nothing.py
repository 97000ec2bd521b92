"""A failed ``add`` of several inputs adds nothing (issue 20, item 12): every input is checked,
scanned and hashed before the version changes, on the command line and in the SDK."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import NotFoundError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def _staged(ds: dataver.Dataset) -> list[str]:
    return sorted(e.path for e in ds.reload().entries())


def test_add_with_a_missing_path_adds_nothing(dv: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("a")
    version = dv("create", "--name", "pets").out.strip()

    failed = dv("add", "--files", "d/a.txt", "does-not-exist.csv", code=1)

    assert failed.error() == "error: no such file or folder: does-not-exist.csv; nothing was added"
    assert failed.hint() == "hint: check that does-not-exist.csv exists"
    listed = dv("list", "--json").json()
    assert listed["id"] == version
    assert listed["files"] == []  # before: a.txt was staged although the command failed
    done = dv("add", "--files", "d/a.txt", "d", "--json").json()
    assert done["files"] == 1  # d/a.txt and d/ both give a.txt: one file


def test_every_missing_path_is_named(dv: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    dv("create", "--name", "pets")
    failed = dv("add", "--files", "a.txt", "x.csv", "y.csv", code=1)
    assert failed.error() == "error: no such file or folder: x.csv, y.csv; nothing was added"
    assert failed.hint() == "hint: check that these exist: x.csv, y.csv"
    assert dv("list", "--json").json()["files"] == []


def test_a_refused_link_in_a_later_folder_adds_nothing(
    dv: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "ok.txt").write_text("ok")
    (tmp_path / "second").mkdir()
    (tmp_path / "outside.txt").write_text("outside")
    (tmp_path / "second" / "escape.txt").symlink_to(tmp_path / "outside.txt")
    dv("create", "--name", "pets")
    failed = dv("add", "--files", "first", "second", code=1)
    assert "escape.txt" in failed.error()
    assert dv("list", "--json").json()["files"] == []


def test_files_and_links_are_added_together_or_not_at_all(
    dv: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    dv("create", "--name", "pets")
    missing_link = (tmp_path / "gone").as_uri()
    failed = dv("add", "--files", "a.txt", "--links", missing_link, code=1)
    assert "external location not found" in failed.error()
    assert dv("list", "--json").json()["files"] == []
    (tmp_path / "there.txt").write_text("there")
    done = dv("add", "--files", "a.txt", "--links", (tmp_path / "there.txt").as_uri(), "--json")
    assert (done.json()["files"], done.json()["links"]) == (1, 1)


# ------------------------------------------------------------------------------------ SDK


def test_sdk_add_files_takes_several_paths_all_or_nothing(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("a")
    (tmp_path / "labels.csv").write_text("x\n")
    ds = registry.create("pets")
    before = ds.record
    with pytest.raises(NotFoundError, match=r"no such file or folder: .*nope.*nothing was added"):
        ds.add_files([tmp_path / "d", tmp_path / "nope"])
    assert ds.reload().record == before  # not even the lease was renewed: nothing was written
    assert ds.add_files([tmp_path / "d", os.fspath(tmp_path / "labels.csv")]) == 2
    assert _staged(ds) == ["a.txt", "labels.csv"]
    with pytest.raises(ValidationError, match="no path given"):
        ds.add_files([])


def test_sdk_a_later_path_wins_and_conflicts_across_paths_are_refused(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    for folder, text in (("one", "first"), ("two", "second")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.txt").write_text(text)
    (tmp_path / "three").mkdir()
    (tmp_path / "three" / "same.txt").mkdir()
    (tmp_path / "three" / "same.txt" / "inner").write_text("a folder named like a file")
    ds = registry.create("pets")
    assert ds.add_files([tmp_path / "one", tmp_path / "two"]) == 1
    ds.finalize(auto_upload=True)
    assert (ds.get_local_copy() / "same.txt").read_text() == "second"
    fresh = registry.create("others")  # the two inputs conflict with each other only
    with pytest.raises(
        ValidationError, match=r"cannot have both 'same\.txt/inner' and 'same\.txt'"
    ):
        fresh.add_files([tmp_path / "one", tmp_path / "three"])
    assert fresh.reload().record.staged is None
    assert _staged(fresh) == []


def test_sdk_batch_stages_everything_at_its_end_or_nothing(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    ds = registry.create("pets")
    before = ds.record

    def interrupted_batch() -> None:
        with ds.batch():
            ds.add_files(tmp_path / "a.txt")
            assert [e.path for e in ds.entries()] == ["a.txt"]  # seen inside the block
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_batch()
    assert ds.reload().record == before
    with ds.batch():
        ds.add_files(tmp_path / "a.txt")
        ds.add_files(tmp_path / "b.txt")
        ds.remove_files("a.txt")
        with pytest.raises(ValidationError, match="inside batch"):
            ds.upload()
    assert _staged(ds) == ["b.txt"]
    assert ds.stats.files == 1  # an Uploading version counts what it holds so far
