"""``version_folder``: one step from a folder to a Final version; unchanged folders are reused
(the SDK's answer), and a re-run on an untouched folder is Cached."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import TYPE_CHECKING

import pytest

import dataver
from prefect import flow
from prefect_dataver import (
    DataverRegistry,
    VersionInfo,
    publish_version,
    version_folder,
    version_folder_async,
)
from prefect_dataver.cache import fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable
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
    settled = fingerprint(source)
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
    assert registry.get(first.id).provenance["folder_fingerprint"] == settled


def test_publish_and_explicit_version(registry_url: str, source: Path) -> None:
    info = run_once(registry_url, unique("pub"), source, publish=True, version="3.1.0").result()

    assert (info.state, info.version) == ("published", "3.1.0")


def test_the_first_rerun_on_an_untouched_folder_is_cached(registry_url: str, source: Path) -> None:
    name = unique("reuse")
    first = run_once(registry_url, name, source)
    second = run_once(registry_url, name, source)
    third = run_once(registry_url, name, source)

    assert [first.name, second.name, third.name] == ["Completed", "Cached", "Cached"]
    assert first.result() == second.result() == third.result()
    assert len(dataver.Registry(registry_url).list(name=name, states=None)) == 1


def test_the_first_rerun_of_a_publishing_call_is_cached_as_published(
    registry_url: str, source: Path
) -> None:
    name = unique("reuse-published")
    first = run_once(registry_url, name, source, publish=True)
    second = run_once(registry_url, name, source, publish=True)
    unpublished_call = run_once(registry_url, name, source)

    assert [first.name, second.name] == ["Completed", "Cached"]
    assert first.result() == second.result()
    assert second.result().state == "published"
    # NOTE: another call (publish=False) has another key: it runs, and reuses the version.
    assert unpublished_call.name == "Completed"
    assert unpublished_call.result().id == first.result().id


def test_a_folder_too_fresh_to_vouch_for_runs_once_more_before_it_is_cached(
    registry_url: str, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    # NOTE: the module, not the task of the same name that prefect_dataver.tasks exports
    task_module = sys.modules["prefect_dataver.tasks.version_folder"]
    name = unique("fresh")
    # NOTE: as for files written within the stat cache's racy window of the call's start.
    monkeypatch.setattr(task_module, "fingerprint", lambda *args: None)
    first = run_once(registry_url, name, source)
    monkeypatch.undo()
    second = run_once(registry_url, name, source)
    third = run_once(registry_url, name, source)

    # NOTE: the first call had no fingerprint to record: the second compares the content.
    assert [first.name, second.name, third.name] == ["Completed", "Completed", "Cached"]
    assert first.result() == second.result() == third.result()


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


def test_unchanged_decides_and_explicit_parents_are_compared(
    registry_url: str, source: Path
) -> None:
    name = unique("options")
    first = run_once(registry_url, name, source).result()
    same = run_once(registry_url, name, source, parents=[first], tags=["x"]).result()
    skipped = run_once(registry_url, name, source, unchanged="skip")
    forced = run_once(registry_url, name, source, unchanged="new").result()
    orphan = run_once(registry_url, name, source, parents=None).result()

    assert same == first  # tags are for new versions: the folder is what `first` holds
    assert skipped.name == "Completed"
    assert skipped.result() is None
    assert len({first.id, forced.id, orphan.id}) == 3
    registry = dataver.Registry(registry_url)
    assert registry.get(forced.id).parents == (first.id,)
    assert registry.get(orphan.id).parents == ()


def test_reuse_unchanged_is_a_deprecated_alias_of_unchanged(
    registry_url: str, source: Path
) -> None:
    name = unique("alias")
    first = run_once(registry_url, name, source).result()
    # NOTE: a new mtime, the same content: no cache hit, so the task runs (and warns).
    settle(source / "b.csv", 30)

    with pytest.warns(DeprecationWarning, match="unchanged='reuse' or 'new'"):
        again = run_once(registry_url, name, source, reuse_unchanged=True).result()
    with pytest.warns(DeprecationWarning, match="reuse_unchanged"):
        forced = run_once(registry_url, name, source, reuse_unchanged=False).result()

    assert again == first
    assert forced.id != first.id


def settle(path: Path, seconds_ago: int) -> None:
    """Set ``path``'s mtime ``seconds_ago`` back: a new fingerprint, still one to trust."""
    back = time.time_ns() - seconds_ago * 10**9
    os.utime(path, ns=(back, back))


def test_the_task_and_the_sdk_give_the_same_answer_for_an_unchanged_folder(
    registry_url: str, source: Path
) -> None:
    name = unique("same")
    built = run_once(registry_url, name, source).result()
    with dataver.Registry(registry_url) as registry:
        sdk = registry.version_folder(name, source, "vision")
        sdk_skip = registry.version_folder(name, source, "vision", unchanged="skip")
    task = run_once(registry_url, name, source).result()
    task_skip = run_once(registry_url, name, source, unchanged="skip").result()

    assert (sdk.outcome, sdk.dataset.id) == ("reused", built.id)  # type: ignore[union-attr]
    assert task == built
    assert (sdk_skip.outcome, sdk_skip.dataset, task_skip) == ("skipped", None, None)
    assert len(dataver.Registry(registry_url).list(name=name, states=None)) == 1


def test_the_fingerprint_follows_the_listing_and_vouches_only_for_settled_files(
    tmp_path: Path, settle: Callable[[Path], Path]
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a").write_text("1")
    (folder / "dangling").symlink_to(tmp_path / "missing")
    soon = time.time_ns() + 10**9
    os.utime(folder / "a", ns=(soon, soon))
    assert fingerprint(folder) is None  # NOTE: a file this fresh proves nothing by its stat
    before = fingerprint(settle(folder))
    (folder / "a").write_text("2")
    after = fingerprint(settle(folder))

    assert None not in (before, after)
    assert after != before
    assert fingerprint(folder) == after
    assert fingerprint(folder, dataset_path="data") != after


def test_the_async_twin_versions_a_folder_on_s3(s3_block: DataverRegistry, source: Path) -> None:
    name = unique("s3")

    @flow
    async def build() -> list[VersionInfo]:
        first = await version_folder_async(s3_block, name, "vision", str(source))
        again = await version_folder_async(s3_block, name, "vision", str(source))
        (source / "z.csv").write_text("z\n")
        child = await version_folder_async(s3_block, name, "vision", str(source), publish=True)
        return [first, again, child]

    first, again, child = asyncio.run(build())

    assert again.id == first.id
    registry = s3_block.get_registry()
    assert registry.get(child.id).parents == (first.id,)
    assert child.state == "published"
    assert (registry.get(child.id).get_local_copy() / "z.csv").read_text() == "z\n"
