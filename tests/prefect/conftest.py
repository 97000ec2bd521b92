"""Prefect suite: runs in .venv/prefect; skipped wherever prefect is not installed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

pytest.importorskip("prefect")

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session", autouse=True)
def prefect_backend() -> Iterator[None]:
    """One temporary Prefect server and database for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
