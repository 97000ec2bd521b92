"""The tasks pass the symlink policy through (``symlinks=``): same answers as the SDK."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import TYPE_CHECKING

import pytest

import dataver
from prefect import flow
from prefect_dataver import (
    VersionInfo,
    add_files_async,
    create_version,
    finalize_version,
    sync_folder,
    sync_folder_async,
    version_folder,
    version_folder_async,
)
from prefect_dataver import add_files as add_files_task
from prefect_dataver.cache import fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A folder with a link inside it, and links to a file and a folder outside it."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text("secret")
    (outside / "dir" / "x.txt").write_text("x")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_text("a")
    (folder / "inside.csv").symlink_to("a.csv")
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "dir").symlink_to(outside / "dir", target_is_directory=True)
    return folder


def _files(registry_url: str, info: VersionInfo) -> list[str]:
    return dataver.Registry(registry_url).get(info.id, states=None).list_files()


def test_links_outside_fail_add_files_by_default(registry_url: str, linked: Path) -> None:
    name = unique("refused")

    @flow
    def build() -> None:
        add_files_task(registry_url, create_version(registry_url, name), str(linked))

    with pytest.raises(dataver.ValidationError, match="2 symbolic links lead outside"):
        build()
    (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
    assert ds.list_files() == []


def test_step_tasks_and_async_twins_skip_and_follow(registry_url: str, linked: Path) -> None:
    @flow
    def build() -> VersionInfo:
        ds = create_version(registry_url, unique("steps"))
        ds = add_files_task(registry_url, ds, str(linked), dataset_path="skip", symlinks="skip")
        ds = sync_folder(registry_url, ds, str(linked), dataset_path="follow", symlinks="follow")
        return finalize_version(registry_url, ds)

    @flow
    async def abuild() -> VersionInfo:
        ds = create_version(registry_url, unique("async"))
        ds = await add_files_async(registry_url, ds, str(linked), "follow", symlinks="follow")
        return await sync_folder_async(registry_url, ds, str(linked), "skip", symlinks="skip")

    assert _files(registry_url, build()) == [
        "follow/a.csv",
        "follow/dir/x.txt",
        "follow/inside.csv",
        "follow/secret.txt",
        "skip/a.csv",
        "skip/inside.csv",
    ]
    assert _files(registry_url, asyncio.run(abuild())) == [
        "follow/a.csv",
        "follow/dir/x.txt",
        "follow/inside.csv",
        "follow/secret.txt",
        "skip/a.csv",
        "skip/inside.csv",
    ]


def test_version_folder_follows_and_sees_changes_in_linked_folders(
    registry_url: str, linked: Path, tmp_path: Path, settle: Callable[[Path], Path]
) -> None:
    name = unique("vf")

    @flow
    def once() -> VersionInfo:
        return version_folder(registry_url, name, "vision", str(linked), symlinks="follow")

    @flow
    async def aonce() -> VersionInfo:
        return await version_folder_async(
            registry_url, name, "vision", str(linked), symlinks="skip"
        )

    first = once()
    assert _files(registry_url, first) == ["a.csv", "dir/x.txt", "inside.csv", "secret.txt"]
    assert once() == first  # unchanged: reused
    # NOTE: a change only inside the linked folder must be seen (the cache must not hide it)
    target = tmp_path / "outside" / "dir" / "x.txt"
    target.write_text("changed")
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = once()
    assert second.id != first.id
    assert dataver.Registry(registry_url).get(second.id).diff().modified == ("dir/x.txt",)
    skipped = asyncio.run(aonce())
    assert _files(registry_url, skipped) == ["a.csv", "inside.csv"]
    settle(tmp_path / "outside")
    settle(linked)
    keys = {fingerprint(linked, symlinks=policy) for policy in ("follow", "skip")}
    assert len(keys) == 2
    assert None not in keys
    assert fingerprint(linked) is None  # NOTE: refused links: the task reports them
