"""Prefect suite: runs in .venv/prefect; skipped wherever prefect is not installed."""

import pytest

pytest.importorskip("prefect")
