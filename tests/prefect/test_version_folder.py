"""``version_folder``: one step from a folder to a Final version; unchanged folders are reused."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import TYPE_CHECKING

import dataver
from prefect import flow
from prefect_dataver import (
    DataverRegistry,
    VersionInfo,
    aversion_folder,
    create_version,
    finalize_version,
    publish_version,
    version_folder,
)
from prefect_dataver.cache import folder_digest

if TYPE_CHECKING:
    from pathlib import Path

    from prefect.client.schemas.objects import State


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_once(registry: str | DataverRegistry, name: str, folder: Path, **kwargs: object) -> State:
    """One flow run calling version_folder; returns the task's final state."""

    @flow
    def once() -> State:
        return version_folder(  # type: ignore[call-overload, no-any-return]
            registry, name, "vision", str(folder), return_state=True, **kwargs
        )

    return once()


def test_a_folder_becomes_a_final_version_with_its_parent(registry_url: str, source: Path) -> None:
    name = unique("vf")
    first = run_once(registry_url, name, source).result()
    (source / "b.csv").write_text("changed\n")
    second = run_once(
        registry_url, name, source, tags=["daily"], metadata={"k": 1}, dataset_path="data"
    ).result()

    registry = dataver.Registry(registry_url)
    ds = registry.get(second.id)
    assert (first.version, second.version) == ("1.0.0", "1.0.1")
    assert ds.state is dataver.State.FINAL
    assert ds.parents == (first.id,)
    assert ds.tags == ("daily",)
    assert ds.metadata == {"k": 1}
    assert sorted(ds.list_files()) == [
        "b.csv",
        "data/b.csv",
        "data/train/a.csv",
        "train/a.csv",
    ]
    assert ds.provenance["folder_key"]


def test_publish_and_explicit_version(registry_url: str, source: Path) -> None:
    info = run_once(registry_url, unique("pub"), source, publish=True, version="3.1.0").result()

    assert (info.state, info.version) == ("published", "3.1.0")


def test_an_unchanged_folder_reuses_its_version_then_the_task_is_cached(
    registry_url: str, source: Path
) -> None:
    name = unique("reuse")
    first = run_once(registry_url, name, source)
    second = run_once(registry_url, name, source)
    third = run_once(registry_url, name, source)

    assert [first.name, second.name, third.name] == ["Completed", "Completed", "Cached"]
    assert first.result() == second.result() == third.result()
    assert len(dataver.Registry(registry_url).list(name=name, states=None)) == 1


def test_a_changed_folder_makes_a_child_even_when_it_goes_back_to_older_content(
    registry_url: str, source: Path
) -> None:
    name = unique("revert")
    original = (source / "b.csv").read_text()
    v1 = run_once(registry_url, name, source).result()
    (source / "b.csv").write_text("other\n")
    v2 = run_once(registry_url, name, source).result()
    (source / "b.csv").write_text(original)
    stat = (source / "b.csv").stat()
    os.utime(source / "b.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    v3 = run_once(registry_url, name, source).result()

    registry = dataver.Registry(registry_url)
    assert len({v1.id, v2.id, v3.id}) == 3
    assert registry.get(v3.id).parents == (v2.id,)
    assert registry.get(v3.id).diff().modified == ("b.csv",)


def test_a_reused_version_that_was_deleted_is_not_returned(registry_url: str, source: Path) -> None:
    name = unique("deleted")
    first = run_once(registry_url, name, source).result()
    assert run_once(registry_url, name, source).result() == first
    dataver.Registry(registry_url).delete(first.id)

    again = run_once(registry_url, name, source)

    assert again.name == "Completed"
    assert again.result().id != first.id
    assert dataver.Registry(registry_url).get(again.result().id).state is dataver.State.FINAL


def test_a_reused_version_published_since_is_returned_as_published(
    registry_url: str, source: Path
) -> None:
    name = unique("published-since")
    first = run_once(registry_url, name, source).result()
    run_once(registry_url, name, source)  # reuses: the result is stored for the cache

    @flow
    def publish() -> VersionInfo:
        return publish_version(registry_url, first)

    publish()
    again = run_once(registry_url, name, source).result()

    assert (again.id, again.state) == (first.id, "published")


def test_reuse_respects_explicit_parents_and_options(registry_url: str, source: Path) -> None:
    name = unique("options")

    @flow
    def base() -> VersionInfo:
        return finalize_version(registry_url, create_version(registry_url, unique("base")))

    parent = base()
    first = run_once(registry_url, name, source, parents=[parent.id]).result()
    same = run_once(registry_url, name, source, parents=[parent.id]).result()
    no_parents = run_once(registry_url, name, source, parents=None).result()
    tagged = run_once(registry_url, name, source, parents=None, tags=["x"]).result()
    forced = run_once(registry_url, name, source, parents=None, tags=["x"], reuse_unchanged=False)

    assert same.id == first.id
    assert len({first.id, no_parents.id, tagged.id, forced.result().id}) == 4


def test_folder_digest_follows_the_listing_not_the_content(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a").write_text("1")
    (folder / "dangling").symlink_to(tmp_path / "missing")
    before = folder_digest(folder)
    (folder / "a").write_text("2")

    assert folder_digest(folder) != before  # mtime (and here size) changed
    assert folder_digest(folder) == folder_digest(folder)


def test_the_async_twin_versions_a_folder_on_s3(s3_block: DataverRegistry, source: Path) -> None:
    name = unique("s3")

    @flow
    async def build() -> list[VersionInfo]:
        first = await aversion_folder(s3_block, name, "vision", str(source))
        again = await aversion_folder(s3_block, name, "vision", str(source))
        (source / "z.csv").write_text("z\n")
        child = await aversion_folder(s3_block, name, "vision", str(source), publish=True)
        return [first, again, child]

    first, again, child = asyncio.run(build())

    assert again.id == first.id
    registry = s3_block.get_registry()
    assert registry.get(child.id).parents == (first.id,)
    assert child.state == "published"
    assert (registry.get(child.id).get_local_copy() / "z.csv").read_text() == "z\n"
