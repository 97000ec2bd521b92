"""The documentation site builds with ``mkdocs build --strict`` (what ``make docs`` runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).with_name("mkdocs")


def test_site_builds_strictly(tmp_path: Path) -> None:
    if not MKDOCS.exists():
        pytest.fail("mkdocs is missing from this environment: `make venv-core` installs it")
    run = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "get_local_copy" in api  # mkdocstrings rendered the docstrings
    assert (tmp_path / "site" / "img" / "ui-version.png").exists()
