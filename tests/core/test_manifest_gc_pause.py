"""The manifest decoder pauses the garbage collector (found by the 1M-entry benchmark).

It must leave the collector as it found it, also when shards are decoded from many threads.
"""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor

import pytest

from dataver.manifest.codec import decode_shard, encode_shard
from dataver.manifest.entry import Entry

_SHARD = encode_shard([Entry(f"f{i:05d}", 4, f"{i:064x}") for i in range(2_000)])


@pytest.mark.parametrize("enabled", [True, False])
def test_decoding_leaves_the_collector_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert len(decode_shard(_SHARD, "test")) == 2_000
        assert gc.isenabled() is enabled
        with ThreadPoolExecutor(8) as pool:
            assert all(len(e) == 2_000 for e in pool.map(decode_shard, [_SHARD] * 64, "t" * 64))
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_corrupt_shard_still_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(Exception, match="corrupt"):
        decode_shard(b"not zstd", "bad")
    assert gc.isenabled()
