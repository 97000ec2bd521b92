"""The command line on an S3 registry (the moto server): ``--registry s3://...``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Run


@pytest.mark.s3
def test_sync_get_and_search_on_s3(cli: Callable[..., Run], data: Path, s3_url: str) -> None:
    first = cli("--registry", s3_url, "sync", "--folder", data, "--name", "t", "--json").json()
    assert first["version"]["state"] == "final"
    (data / "new.txt").write_bytes(b"new")
    second = cli("sync", "--folder", data, "--name", "t", "--registry", s3_url).out.strip()
    path = Path(cli("get", "--registry", s3_url).out.strip())
    assert (path / "new.txt").read_bytes() == b"new"
    found = cli("search", "--registry", s3_url, "--json").json()
    assert [v["id"] for v in found] == [second, first["id"]]
    changes = cli("diff", "--registry", s3_url, "--json").json()
    assert changes["added"] == ["new.txt"]
    # the current version is per registry: the default one has none
    dataver.Registry(os.environ["DATAVER_REGISTRY"]).create("elsewhere")
    assert cli("show", code=2).error().startswith("error: no version given")
