"""Start-up stays light: ``import dataver`` and ``dataver --help`` load none of the heavy
libraries behind the SDK (pydantic, fsspec, the storage and manifest layers...). Every CLI call,
Airflow task and Prefect task pays for what they import (benchmarks/startup.py times them)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import dataver

HEAVY = (
    "pydantic",
    "pydantic_settings",
    "fsspec",
    "boto3",
    "botocore",
    "filelock",
    "wcmatch",
    "blake3",
    "orjson",
    "platformdirs",
    "fastapi",
    "uvicorn",
    "typer",
    "rich",
    "markdown_it",
    "pygments",
    "asyncio",
    "dataver.api",
    "dataver.manifest",
    "dataver.storage",
    "dataver.settings",
    "dataver.cache",
)

REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)), file=sys.stderr)"


def _loaded(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], capture_output=True, text=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _heavy(loaded: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        name
        for name in HEAVY
        if name not in allowed and any(m == name or m.startswith(name + ".") for m in loaded)
    )


def test_import_dataver_loads_no_heavy_module() -> None:
    assert _heavy(_loaded("import dataver")) == []


def test_a_public_name_is_loaded_when_first_used() -> None:
    loaded = _loaded("import dataver; dataver.State")
    assert "dataver.versions.state" in loaded
    assert _heavy(loaded) == []
    assert "dataver.api" in _loaded("import dataver; dataver.Registry")


def test_dataver_help_loads_no_sdk_and_no_rich_renderer() -> None:
    code = (
        "import sys; sys.argv = ['dataver', '--help']\n"
        "from dataver.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _heavy(_loaded(code), allowed=("typer",)) == []


def test_unknown_names_still_raise() -> None:
    import dataver

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        dataver.Nope  # noqa: B018
    assert "Registry" in dir(dataver)


def test_ls_of_a_local_registry_loads_no_remote_or_glob_library(
    registry: dataver.Registry,
) -> None:
    registry.create("one").finalize()
    code = (
        f"import sys; sys.argv = ['dataver', '--registry', {registry.url!r}, 'ls']\n"
        "from dataver.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded(code)
    assert "dataver.api" in loaded
    remote = ("fsspec", "boto3", "botocore", "wcmatch", "fastapi", "uvicorn", "asyncio")
    assert [name for name in remote if name in loaded] == []
