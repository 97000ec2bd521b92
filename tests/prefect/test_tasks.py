"""The step tasks (and their async twins) build, seal, publish and read versions in real runs."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from prefect.context import get_run_context

import dataver
from prefect import flow
from prefect_dataver import (
    VersionInfo,
    add_files_async,
    create_version,
    create_version_async,
    finalize_version,
    finalize_version_async,
    get_local_copy,
    get_local_copy_async,
    publish_version,
    publish_version_async,
    remove_files,
    remove_files_async,
    sync_folder,
    sync_folder_async,
)
from prefect_dataver import add_files as add_files_task


def unique(prefix: str) -> str:
    """A dataset name of its own: the Prefect server is shared by the whole session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def read_tree(root: str | Path) -> dict[str, str]:
    base = Path(root)
    return {p.relative_to(base).as_posix(): p.read_text() for p in base.rglob("*") if p.is_file()}


def test_step_tasks_build_publish_and_read_a_version(registry_url: str, source: Path) -> None:
    name = unique("steps")
    extra = source.parent / "extra"
    extra.mkdir()
    (extra / "c.tmp").write_text("scratch")
    (extra / "d.csv").write_text("x,y\n5,6\n")

    @flow
    def build() -> tuple[VersionInfo, str, str]:
        ds = create_version(registry_url, name, project="vision", tags=["steps"])
        ds = sync_folder(registry_url, ds, str(source), dataset_path="base")
        ds = add_files_task(registry_url, ds, str(extra), dataset_path="extra")
        ds = remove_files(registry_url, ds, "*.tmp")
        ds = finalize_version(registry_url, ds)
        ds = publish_version(registry_url, ds)
        run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
        return ds, get_local_copy(registry_url, ds), run_id

    info, local, run_id = build()

    assert isinstance(info, VersionInfo)
    assert (info.name, info.project, info.version, info.state) == (
        name,
        "vision",
        "1.0.0",
        "published",
    )
    assert info.uri == f"dataver://vision/{name}@1.0.0"
    assert info.stats["files"] == 3
    assert read_tree(local) == {
        "base/b.csv": "x,y\n3,4\n",
        "base/train/a.csv": "x,y\n1,2\n",
        "extra/d.csv": "x,y\n5,6\n",
    }
    record = dataver.Registry(registry_url).get(info.id, states=None)
    assert record.tags == ("steps",)
    assert record.provenance["flow_run_id"] == run_id
    assert record.provenance["flow_name"] == "build"
    assert record.provenance["task_run_id"]


def test_async_twins_do_the_same_in_an_async_flow(registry_url: str, source: Path) -> None:
    name = unique("async")

    @flow
    async def build() -> tuple[VersionInfo, str]:
        ds = await create_version_async(registry_url, name)
        ds = await sync_folder_async(registry_url, ds, str(source))
        ds = await add_files_async(registry_url, ds, str(source / "b.csv"), dataset_path="copy")
        ds = await remove_files_async(registry_url, ds, "train")
        ds = await finalize_version_async(registry_url, ds)
        ds = await publish_version_async(registry_url, ds)
        return ds, await get_local_copy_async(registry_url, name=name)

    info, local = asyncio.run(build())

    assert info.state == "published"
    assert read_tree(local) == {"b.csv": "x,y\n3,4\n", "copy/b.csv": "x,y\n3,4\n"}


def test_parents_latest_ids_and_none(registry_url: str, source: Path) -> None:
    name = unique("parents")

    @flow
    def build() -> list[VersionInfo]:
        first = finalize_version(registry_url, create_version(registry_url, name))
        latest = create_version(registry_url, name, parents="latest")
        explicit = create_version(registry_url, name, parents=[first])
        by_id = create_version(registry_url, name, parents=first.id)
        orphan = create_version(registry_url, name, parents=None)
        return [first, latest, explicit, by_id, orphan]

    first, latest, explicit, by_id, orphan = build()
    registry = dataver.Registry(registry_url)

    def parents(info: VersionInfo) -> tuple[str, ...]:
        return registry.get(info.id, states=None).parents

    assert parents(first) == ()
    assert parents(latest) == parents(explicit) == parents(by_id) == (first.id,)
    assert parents(orphan) == ()
    assert [latest.version, explicit.version, by_id.version] == ["1.0.1", "1.0.2", "1.0.3"]


def test_get_local_copy_by_name_and_version_string(registry_url: str, source: Path) -> None:
    name = unique("get")

    @flow
    def build() -> tuple[str, str]:
        ds = create_version(registry_url, name, version="2.0.0")
        ds = add_files_task(registry_url, ds, str(source / "b.csv"))
        finalize_version(registry_url, ds)
        return (
            get_local_copy(registry_url, name=name, version="2.0.0"),
            get_local_copy(registry_url, name=name, paths=["*.csv"]),
        )

    whole, subset = build()

    assert read_tree(whole) == read_tree(subset) == {"b.csv": "x,y\n3,4\n"}


def test_get_local_copy_refuses_a_version_that_is_still_uploading(registry_url: str) -> None:
    @flow
    def build() -> str:
        ds = create_version(registry_url, unique("open"))
        return get_local_copy(registry_url, ds)

    with pytest.raises(dataver.VersionNotFoundError):
        build()


def test_step_results_carry_the_state_of_the_moment(registry_url: str, source: Path) -> None:
    @flow
    def build() -> list[str]:
        ds = create_version(registry_url, unique("states"))
        synced = sync_folder(registry_url, ds, str(source))
        final = finalize_version(registry_url, synced)
        return [ds.state, synced.state, final.state]

    assert build() == ["uploading", "uploading", "final"]


def test_version_info_round_trips_as_json() -> None:
    info = VersionInfo(
        id="0" * 32,
        name="n",
        project="p",
        version="1.0.0",
        state="final",
        uri="dataver://p/n@1.0.0",
        stats={"files": 1},
    )

    assert VersionInfo.model_validate_json(info.model_dump_json()) == info


def test_results_of_a_version_task_pass_to_another_flow_as_a_parameter(
    registry_url: str,
) -> None:
    @flow
    def produce() -> VersionInfo:
        return finalize_version(registry_url, create_version(registry_url, unique("param")))

    @flow
    def consume(version: VersionInfo) -> dict[str, Any]:
        return dataver.Registry(registry_url).get(version.id).to_dict()

    produced = produce()
    assert consume(produced)["id"] == produced.id


def test_provenance_links_to_the_flow_run_in_prefects_ui(registry_url: str) -> None:
    from prefect.settings import PREFECT_UI_URL, temporary_settings

    name = unique("linked")

    @flow
    def build() -> tuple[VersionInfo, str]:
        return create_version(registry_url, name), str(get_run_context().flow_run.id)  # type: ignore[union-attr]

    with temporary_settings({PREFECT_UI_URL: "http://prefect.example"}):
        info, run_id = build()
    record = dataver.Registry(registry_url).get(info.id, states=None)
    assert record.provenance["flow_run_url"] == f"http://prefect.example/runs/flow-run/{run_id}"
