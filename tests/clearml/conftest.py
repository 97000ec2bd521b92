"""The drop-in's comparison suite: runs in .venv/clearml, beside the real ``clearml`` package.

Every test has its own registry and cache folder, as in the core suite, so nothing touches
the user's.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DATAVER_* and ClearML's config point into this test's folder."""
    for name in list(os.environ):
        if name.startswith("DATAVER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATAVER_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("DATAVER_FSYNC", "0")
    monkeypatch.setenv("CLEARML_CONFIG_FILE", str(tmp_path / "clearml.conf"))
    monkeypatch.setenv("CLEARML_CACHE_DIR", str(tmp_path / "clearml-cache"))
