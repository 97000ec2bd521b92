"""A long-lived process (a triggerer, a worker, a web server) opens and closes registries for
ever: what one registry holds (the stat cache's SQLite connection, S3 connections and
threads) must be released by ``close()`` / ``with``."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import pytest

import dataver

if TYPE_CHECKING:
    from pathlib import Path

ROUNDS = 1000


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _use(url: str, version_id: str) -> None:
    with dataver.Registry(url) as registry:
        assert registry.get(version_id).version == "1.0.0"


@pytest.fixture(params=["local", "s3"])
def url(request: pytest.FixtureRequest, registry_path: Path) -> str:
    if request.param == "local":
        return str(registry_path)
    s3: str = request.getfixturevalue("s3_url")
    return s3


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_a_thousand_registries_leave_no_descriptor_or_thread(url: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    with dataver.Registry(url) as registry:
        version_id = registry.version_folder("leak", src).dataset.id  # type: ignore[union-attr]
    for _ in range(20):  # NOTE: warm up whatever is made once per process (pools, imports)
        _use(url, version_id)
    fds, threads = _open_fds(), threading.active_count()
    for _ in range(ROUNDS):
        _use(url, version_id)
    assert _open_fds() <= fds + 2, f"{_open_fds() - fds} descriptors more after {ROUNDS} rounds"
    assert threading.active_count() <= threads + 2


def test_a_closed_registry_releases_its_stat_cache(registry_path: Path) -> None:
    registry = dataver.Registry(registry_path)
    registry.close()
    registry.close()  # NOTE: twice is harmless
