"""The Prefect environment runs dataver inside real flow runs (``prefect_test_harness``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataver
import prefect
import prefect_dataver
from prefect import flow, task

if TYPE_CHECKING:
    from pathlib import Path


def test_prefect_is_a_supported_release() -> None:
    major, minor = (int(part) for part in prefect.__version__.split(".")[:2])
    assert (major, minor) >= (3, 4)
    assert prefect_dataver.__version__


def test_a_task_builds_a_version_that_the_next_task_reads(tmp_path: Path) -> None:
    registry_url = str(tmp_path / "registry")
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.csv").write_text("x,y\n1,2\n")

    @task
    def build() -> str:
        ds = dataver.Registry(registry_url).create("env")
        ds.add_files(source)
        ds.finalize(auto_upload=True)
        return ds.id

    @task
    def read(version_id: str) -> str:
        ds = dataver.Registry(registry_url).get(version_id)
        return (ds.get_local_copy() / "a.csv").read_text()

    @flow
    def build_and_read() -> str:
        return read(build())

    assert build_and_read() == "x,y\n1,2\n"
    (version,) = dataver.Registry(registry_url).list(name="env")
    assert version.state is dataver.State.FINAL
