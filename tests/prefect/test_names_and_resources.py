"""One naming rule for the async twins, the old names as deprecated aliases, and every
registry a task opens is closed again (a long-lived worker keeps no files or clients)."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from prefect.tasks import Task

import dataver
import prefect_dataver
from prefect import flow
from prefect_dataver import (
    DataverRegistry,
    VersionInfo,
    add_files,
    create_version,
    create_version_async,
    finalize_version,
    get_local_copy,
    get_local_copy_async,
    publish_version,
    remove_files,
    sync_folder,
    sync_folder_async,
    version_folder,
    version_folder_async,
    wait_for_version,
    wait_for_version_async,
)

OLD_NAMES = {
    "acreate_version": "create_version_async",
    "aadd_files": "add_files_async",
    "async_folder": "sync_folder_async",
    "aremove_files": "remove_files_async",
    "afinalize_version": "finalize_version_async",
    "apublish_version": "publish_version_async",
    "aversion_folder": "version_folder_async",
    "aget_local_copy": "get_local_copy_async",
    "await_for_version": "wait_for_version_async",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_every_task_has_an_async_twin_named_name_async() -> None:
    tasks = {n: getattr(prefect_dataver, n) for n in prefect_dataver.__all__}
    tasks = {n: t for n, t in tasks.items() if isinstance(t, Task)}
    sync = sorted(n for n in tasks if not n.endswith("_async"))

    assert len(sync) == 10
    assert sorted(n for n in tasks if n.endswith("_async")) == [f"{n}_async" for n in sync]
    for name in sync:
        twin = tasks[f"{name}_async"]
        assert twin.isasync
        assert not tasks[name].isasync
        assert twin.name == f"{tasks[name].name}-async"


def test_old_names_warn_naming_the_new_one_and_work(registry_url: str, source: Path) -> None:
    old = {name: getattr(prefect_dataver, name) for name in OLD_NAMES}
    name = unique("old")

    @flow
    async def build() -> tuple[VersionInfo, str, VersionInfo, VersionInfo]:
        ds = await old["acreate_version"](registry_url, name)
        ds = await old["async_folder"](registry_url, ds, str(source))
        ds = await old["aadd_files"](registry_url, ds, str(source / "b.csv"), "copy")
        ds = await old["aremove_files"](registry_url, ds, "train")
        ds = await old["afinalize_version"](registry_url, ds)
        ds = await old["apublish_version"](registry_url, ds)
        local = await old["aget_local_copy"](registry_url, ds)
        ready = await old["await_for_version"](registry_url, ds, poll_seconds=0.1)
        folder = await old["aversion_folder"](registry_url, unique("vf"), "default", str(source))
        return ds, local, ready, folder

    with pytest.warns(DeprecationWarning, match="is deprecated") as caught:
        info, local, ready, folder = asyncio.run(build())

    said = {str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)}
    for old_name, new_name in OLD_NAMES.items():
        assert (
            f"prefect_dataver.{old_name} is deprecated and will be removed in the next "
            f"release; use prefect_dataver.{new_name}"
        ) in said
    assert (info.state, ready.id, folder.state) == ("published", info.id, "final")
    assert sorted(p.name for p in Path(local).rglob("*.csv")) == ["b.csv", "b.csv"]


def test_old_names_are_the_new_tasks_for_submit_map_and_with_options() -> None:
    with pytest.warns(DeprecationWarning, match="use prefect_dataver.version_folder_async"):
        configured = prefect_dataver.aversion_folder.with_options(retries=2)
    with pytest.warns(DeprecationWarning, match="use prefect_dataver.sync_folder_async"):
        task_name = prefect_dataver.async_folder.name

    assert task_name == "dataver-sync-folder-async"
    assert isinstance(configured, Task)
    assert configured.retries == 2
    assert configured.fn is version_folder_async.fn


def test_fail_task_versions_is_a_deprecated_no_op() -> None:
    with pytest.warns(DeprecationWarning, match="fail_task_versions is deprecated"):
        prefect_dataver.fail_task_versions(None, None, None)  # type: ignore[arg-type]


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> list[list[dataver.Registry]]:
    """``[opened, closed]``: every ``dataver.Registry`` made and closed from now on."""
    opened: list[dataver.Registry] = []
    closed: list[dataver.Registry] = []
    init, close = dataver.Registry.__init__, dataver.Registry.close

    def spy_init(self: dataver.Registry, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        opened.append(self)

    def spy_close(self: dataver.Registry) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(dataver.Registry, "__init__", spy_init)
    monkeypatch.setattr(dataver.Registry, "close", spy_close)
    return [opened, closed]


def test_every_task_closes_the_registry_it_opened(
    registry_url: str,
    source: Path,
    tmp_path: Path,
    registries: list[list[dataver.Registry]],
) -> None:
    block = DataverRegistry(url=registry_url)
    name = unique("closed")

    @flow
    def steps() -> VersionInfo:
        ds = create_version(block, name)
        ds = sync_folder(registry_url, ds, str(source))
        ds = add_files(block, ds, str(source / "b.csv"), "copy")
        ds = remove_files(registry_url, ds, "train")
        ds = publish_version(block, finalize_version(registry_url, ds))
        get_local_copy(registry_url, ds)
        wait_for_version(block, ds)
        version_folder(block, unique("vf"), "default", str(source))
        version_folder(block, unique("vf"), "default", str(source))
        failing = create_version(registry_url, unique("fails"))
        add_files(registry_url, failing, str(tmp_path / "missing"), return_state=True)
        return ds

    @flow
    async def twins() -> None:
        ds = await create_version_async(block, unique("twins"))
        ds = await sync_folder_async(registry_url, ds, str(source))
        await wait_for_version_async(registry_url, finalize_version(block, ds))
        await get_local_copy_async(block, ds)
        await version_folder_async(registry_url, unique("vf"), "default", str(source))

    steps()
    asyncio.run(twins())

    opened, closed = registries
    assert len(opened) >= 20
    assert [r for r in opened if r not in closed] == []


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_fifty_task_runs_leave_no_files_open(registry_url: str, source: Path) -> None:
    name = unique("fds")

    @flow
    def rounds(count: int) -> None:
        for _ in range(count):
            version_folder(registry_url, name, "vision", str(source))  # cached after the first
            create_version(registry_url, unique("fds"))

    rounds(3)  # NOTE: Prefect's own clients and log files open on first use
    before = open_files()
    rounds(50)

    # NOTE: each registry left open would hold its stat cache's SQLite files (3 or more).
    assert open_files() - before < 6
