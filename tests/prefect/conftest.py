"""Prefect suite: runs in .venv/prefect; skipped wherever prefect is not installed.

One temporary Prefect server (``prefect_test_harness``) serves the whole session; results
that cache policies persist go to a temporary folder. Every test gets its own dataver cache;
the S3 fixtures run the core suite's real moto server (``tests/core/s3server.py``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("prefect")

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prefect_dataver import DataverRegistry

CORE_TESTS = Path(__file__).resolve().parents[1] / "core"


def _load_s3server() -> Any:
    """tests/core/s3server.py, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("dataver_s3server", CORE_TESTS / "s3server.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NOTE: dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


s3server = _load_s3server()


def pytest_configure(config: pytest.Config) -> None:
    # NOTE: an async flow run under asyncio.run() leaves one of Prefect's own HTTP sockets to
    # the test server for the garbage collector (any async flow, with or without dataver).
    # The suite turns warnings into errors; this one is Prefect's, so it is let through.
    config.addinivalue_line("filterwarnings", "ignore:unclosed <socket.socket:ResourceWarning")
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
    )


@pytest.fixture(scope="session", autouse=True)
def prefect_backend() -> Iterator[str]:
    """One temporary Prefect server and database for the whole session; returns its API URL."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tempfile.mkdtemp(prefix="prefect-dataver-results-")
    with (
        temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(autouse=True)
def isolated_dataver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own dataver cache (and default registry); no fsync stalls."""
    for name in list(os.environ):
        if name.startswith("DATAVER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATAVER_REGISTRY", str(tmp_path / "default-registry"))
    monkeypatch.setenv("DATAVER_FSYNC", "0")
    return tmp_path / "cache"


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    """A fresh local registry, as a URL string."""
    return str(tmp_path / "registry")


def settle_files(folder: Path) -> Path:
    """Date every file under ``folder`` a minute back: its stat can be trusted at once.

    A file changed within the stat cache's racy window has no folder fingerprint, so
    ``version_folder``'s cache policy gives no key for it (and the task runs).
    """
    back = time.time_ns() - 60 * 10**9
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(back, back))
    return folder


@pytest.fixture
def settle() -> Callable[[Path], Path]:
    """``settle(folder)``: :func:`settle_files`."""
    return settle_files


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small folder to version: two CSV files in two folders (settled, see settle_files)."""
    root = tmp_path / "source"
    (root / "train").mkdir(parents=True)
    (root / "train" / "a.csv").write_text("x,y\n1,2\n")
    (root / "b.csv").write_text("x,y\n3,4\n")
    return settle_files(root)


@pytest.fixture(scope="session")
def s3_proxy() -> Iterator[Any]:
    """A real moto S3 server (own process, HTTP) behind the core suite's proxy."""
    server = s3server.MotoServer()
    proxy = s3server.FaultProxy(server.url)
    yield proxy
    proxy.stop()
    server.stop()


@pytest.fixture
def s3_block(s3_proxy: Any, monkeypatch: pytest.MonkeyPatch) -> DataverRegistry:
    """A ``DataverRegistry`` block on a fresh moto bucket; credentials only in the block."""
    import boto3
    from pydantic import SecretStr

    from prefect_dataver import DataverRegistry

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATAVER_RETRY_MAX_WAIT", "0.5")
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    boto3.client(
        "s3",
        endpoint_url=s3_proxy.url,
        aws_access_key_id="testing-key-id",
        aws_secret_access_key="testing-secret-key",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return DataverRegistry(
        url=f"s3://{bucket}/registry",
        aws_access_key_id="testing-key-id",
        aws_secret_access_key=SecretStr("testing-secret-key"),
        endpoint_url=s3_proxy.url,
        region="us-east-1",
    )


# Prefect's own events test helpers: an events worker whose client records every event.
from prefect.testing.fixtures import asserting_events_worker  # noqa: E402, F401


@pytest.fixture
def emitted(asserting_events_worker: Any) -> Any:  # noqa: F811 - the fixture above
    """``emitted(name=None)``: the events sent so far (all, or those named ``name``)."""
    from prefect.events.clients import AssertingEventsClient

    def events(name: str | None = None) -> list[Any]:
        asserting_events_worker.wait_until_empty()
        client = AssertingEventsClient.last
        assert client is not None
        return [e for e in client.events if name is None or e.event == name]

    return events


@pytest.fixture
def read_artifacts() -> Any:
    """``read_artifacts(key)``: every artifact with that key, newest first, from the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        TaskRunFilter,
    )
    from prefect.client.schemas.sorting import ArtifactSort

    def read(key: str) -> list[Any]:
        with get_client(sync_client=True) as client:
            return client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                # NOTE: the sync client sends None for these unless given, which the API refuses.
                flow_run_filter=FlowRunFilter(),
                task_run_filter=TaskRunFilter(),
                sort=ArtifactSort.CREATED_DESC,
                limit=200,
                offset=0,
            )

    return read
