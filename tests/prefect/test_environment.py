"""The Prefect environment runs dataver inside real flow runs (``prefect_test_harness``)."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement

import dataver
import prefect
import prefect_dataver
from prefect import flow, task

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def makefile_default(name: str) -> str:
    """The default the Makefile gives ``name`` (``NAME ?= value``)."""
    found = re.search(rf"^{name} \?=(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert found is not None, f"{name} not in the Makefile"
    return found.group(1).strip()


def test_make_venv_prefect_installs_prefect_3_9_without_a_fastapi_cap() -> None:
    spec = Requirement(makefile_default("PREFECT_SPEC"))
    constraints = [
        Requirement(c.strip('"')) for c in makefile_default("PREFECT_CONSTRAINTS").split()
    ]

    assert spec.name == "prefect"
    assert spec.specifier.contains("3.9.1")
    assert not spec.specifier.contains("3.8.9")
    assert [c for c in constraints if c.name == "fastapi"] == []
    # NOTE: why no cap is needed: Prefect bounds fastapi itself (3.8 did not: 0.154 broke it).
    (fastapi,) = [Requirement(r) for r in requires("prefect") or () if r.startswith("fastapi")]
    assert any(s.operator in {"<", "<=", "=="} for s in fastapi.specifier), fastapi


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
