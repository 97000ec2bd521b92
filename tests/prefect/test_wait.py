"""``wait_for_version`` polls the registry while another writer works on the version."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import TYPE_CHECKING

import pytest

import dataver
from prefect import flow
from prefect_dataver import (
    VersionBrokenError,
    VersionInfo,
    wait_for_version,
    wait_for_version_async,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def later() -> Iterator[Callable[[float, Callable[[], object]], None]]:
    """``later(seconds, action)``: run ``action`` in a thread after a delay (joined at the end)."""
    threads: list[threading.Thread] = []

    def schedule(delay: float, action: Callable[[], object]) -> None:
        def run() -> None:
            time.sleep(delay)
            action()

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)

    yield schedule
    for thread in threads:
        thread.join(timeout=60)


def test_waits_until_another_writer_finalizes_the_version(
    registry_url: str, source: Path, later: Callable[[float, Callable[[], object]], None]
) -> None:
    ds = dataver.Registry(registry_url).create(unique("wait"))
    ds.add_files(source)
    later(1.0, lambda: ds.finalize(auto_upload=True))

    @flow
    def watch() -> VersionInfo:
        return wait_for_version(registry_url, ds.id, poll_seconds=0.1, timeout_seconds=120)

    info = watch()

    assert (info.id, info.state) == (ds.id, "final")


def test_waits_for_a_dataset_that_does_not_exist_yet(
    registry_url: str, later: Callable[[float, Callable[[], object]], None]
) -> None:
    name = unique("future")

    def produce() -> None:
        ds = dataver.Registry(registry_url).create(name, project="p", version="1.2.0")
        ds.finalize()
        ds.publish()

    later(1.0, produce)

    @flow
    async def watch() -> VersionInfo:
        return await wait_for_version_async(
            registry_url, name=name, project="p", states=["published"], poll_seconds=0.1
        )

    info = asyncio.run(watch())

    assert (info.version, info.state) == ("1.2.0", "published")


def test_fails_at_once_when_the_version_fails(
    registry_url: str, later: Callable[[float, Callable[[], object]], None]
) -> None:
    ds = dataver.Registry(registry_url).create(unique("broken"))
    later(0.5, lambda: ds.fail("disk full"))

    @flow
    def watch() -> VersionInfo:
        # NOTE: a long timeout: only failing at once ends this test in time.
        return wait_for_version(registry_url, ds.id, poll_seconds=0.1, timeout_seconds=3600)

    with pytest.raises(VersionBrokenError, match="is failed: disk full"):
        watch()


def test_an_aborted_version_by_name_and_version_fails_at_once(registry_url: str) -> None:
    name = unique("aborted")
    dataver.Registry(registry_url).create(name, version="1.0.0").abort("stopped")

    @flow
    def watch() -> VersionInfo:
        return wait_for_version(registry_url, name=name, version="1.0.0", timeout_seconds=3600)

    with pytest.raises(VersionBrokenError, match="aborted: stopped"):
        watch()


def test_times_out_while_the_version_stays_uploading(registry_url: str) -> None:
    ds = dataver.Registry(registry_url).create(unique("slow"))

    @flow
    def watch() -> VersionInfo:
        return wait_for_version(registry_url, ds.id, timeout_seconds=0.5, poll_seconds=0.1)

    with pytest.raises(dataver.WaitTimeoutError, match="did not become final or published"):
        watch()
    assert issubclass(dataver.WaitTimeoutError, TimeoutError)  # NOTE: old handlers still catch it


def test_a_deleted_version_fails_at_once_with_the_sdks_error(registry_url: str) -> None:
    registry = dataver.Registry(registry_url)
    ds = registry.create(unique("deleted"))
    ds.abort("gone")
    registry.delete(ds.id)

    @flow
    def watch() -> VersionInfo:
        return wait_for_version(registry_url, ds.id, timeout_seconds=3600)

    with pytest.raises(dataver.VersionBrokenError, match="does not exist"):
        watch()
    assert VersionBrokenError is dataver.VersionBrokenError
    assert issubclass(VersionBrokenError, dataver.DataverError)


def test_refuses_unknown_states_and_a_missing_target(registry_url: str) -> None:
    @flow
    def bad_state() -> VersionInfo:
        return wait_for_version(registry_url, "0" * 32, states=["done"])

    @flow
    def no_target() -> VersionInfo:
        return wait_for_version(registry_url)

    # NOTE: the SDK's errors, ValueErrors as before
    with pytest.raises(ValueError, match="unknown state 'done'"):
        bad_state()
    with pytest.raises(ValueError, match="needs a version id, or a dataset name"):
        no_target()
