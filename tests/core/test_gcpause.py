"""Pausing the cyclic collector around bulk work (found by the 1M-entry and 1%-child benchmarks).

Every pause must leave the collector as it found it: nested, from many threads, when the
work fails, and around the Dataset operations that pause it.
"""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.gcpause import paused_gc
from dataver.manifest.codec import decode_shard, encode_shard
from dataver.manifest.entry import Entry

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_SHARD = encode_shard([Entry(f"f{i:05d}", 4, f"{i:064x}") for i in range(2_000)])


@pytest.fixture(params=[True, False], ids=["enabled", "disabled"])
def collector(request: pytest.FixtureRequest) -> Iterator[bool]:
    """The collector's state before the test (both ways), restored after it."""
    was = gc.isenabled()
    gc.enable() if request.param else gc.disable()
    try:
        yield request.param
    finally:
        gc.enable() if was else gc.disable()


def test_a_pause_disables_and_restores(collector: bool) -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # NOTE: the outer pause still runs
    assert gc.isenabled() is collector


def test_concurrent_pauses_restore_once_the_last_ends(collector: bool) -> None:
    inside, release = threading.Barrier(5), threading.Event()

    def hold() -> None:
        with paused_gc():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled() is collector


def test_decoding_leaves_the_collector_as_it_was(collector: bool) -> None:
    assert len(decode_shard(_SHARD, "test")) == 2_000
    assert gc.isenabled() is collector
    with ThreadPoolExecutor(8) as pool:
        assert all(len(e) == 2_000 for e in pool.map(decode_shard, [_SHARD] * 64, "t" * 64))
    assert gc.isenabled() is collector


def test_a_corrupt_shard_still_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(Exception, match="corrupt"):
        decode_shard(b"not zstd", "bad")
    assert gc.isenabled()


@pytest.mark.parametrize("operation", ["add_files", "sync_folder", "upload"])
def test_dataset_operations_restore_the_collector(
    registry: dataver.Registry, tmp_path: Path, collector: bool, operation: str
) -> None:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    for i in range(50):
        (folder / "sub" / f"{i}.txt").write_text(str(i))
    seen: list[bool] = []
    ds = registry.create("paused")
    original = ds._apply

    def spy(changes: dict[str, Entry | None]) -> None:
        seen.append(gc.isenabled())  # NOTE: inside the operation, the collector is paused
        original(changes)

    ds._apply = spy  # type: ignore[method-assign]
    run = {"add_files": ds.add_files, "sync_folder": ds.sync_folder}.get(operation)
    if run is not None:
        run(folder)
        assert seen  # NOTE: add_files stages per input, then once more when its batch ends
        assert not any(seen)
    else:
        ds.add_files(folder)
        assert ds.upload() > 0
    assert gc.isenabled() is collector
    with pytest.raises(dataver.NotFoundError):
        ds.sync_folder(tmp_path / "missing")
    assert gc.isenabled() is collector
