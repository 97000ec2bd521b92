"""Fixtures for the web page: a registry with a 3-generation dataset, a live server, a browser."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dataver

pytest.importorskip("fastapi")

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium.webdriver.remote.webdriver import WebDriver

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("DATAVER_TEST_ARTIFACTS", REPO / "test-artifacts")) / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REBOUND = "rebound.example"
"""A name the browser resolves to 127.0.0.1, as a DNS-rebinding attacker's name would."""


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG image of one colour (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class Lineage:
    """The versions the fixtures built: ``v1 -> v2 -> v3`` of default/images, and a child
    of ``v2`` in another dataset (default/derived)."""

    def __init__(self, registry: dataver.Registry, v1: str, v2: str, v3: str, other: str) -> None:
        self.registry = registry
        self.v1, self.v2, self.v3, self.other = v1, v2, v3, other


@pytest.fixture(scope="package")
def lineage(tmp_path_factory: pytest.TempPathFactory) -> Lineage:
    """default/images in three generations (CSV, TSV, JSON, text, PNG, Parquet files)."""
    root = tmp_path_factory.mktemp("ui")
    os.environ.setdefault("DATAVER_CACHE_DIR", str(root / "cache"))
    src = root / "src"
    (src / "tables").mkdir(parents=True)
    (src / "images").mkdir()
    (src / "tables" / "labels.csv").write_text(
        "id,label,score\n" + "".join(f"{i},cat{i % 3},{i / 10}\n" for i in range(120))
    )
    (src / "README.txt").write_text("Images of cats, three generations.\n")
    (src / "images" / "red.png").write_bytes(png(8, 6, (220, 30, 30)))
    reg = dataver.Registry(str(root / "registry"))
    v1 = reg.create("images", metadata={"owner": "ml-team"}, tags=["raw"])
    v1.add_files(src)
    v1.finalize(auto_upload=True)
    (src / "tables" / "split.tsv").write_text("id\tsplit\n1\ttrain\n2\ttest\n")
    (src / "config.json").write_text('{"classes": ["cat0", "cat1", "cat2"], "seed": 7}')
    _parquet(src / "tables" / "features.parquet")
    v2 = reg.create("images", parents=[v1.id], description="adds a split and features")
    v2.add_files(src)
    v2.finalize(auto_upload=True)
    (src / "tables" / "labels.csv").write_text("id,label,score\n1,dog,0.9\n")
    (src / "images" / "red.png").rename(src / "images" / "crimson.png")
    v3 = reg.create(
        "images",
        parents=[v2.id],
        provenance={"dag_id": "ingest", "url": "http://airflow.example/dags/ingest"},
    )
    v3.sync_folder(src)
    v3.finalize(auto_upload=True)
    v3.publish()
    other = reg.create("derived", parents=[v2.id])
    other.add_files(src / "tables")
    other.finalize(auto_upload=True)
    return Lineage(reg, v1.id, v2.id, v3.id, other.id)


def _parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": list(range(500)), "feature": [i * 0.5 for i in range(500)]})
    pq.write_table(table, path, row_group_size=100)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free localhost port; yields its base URL."""
    import uvicorn

    port = _free_port()
    web = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not web.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(10)


@pytest.fixture(scope="package")
def server(lineage: Lineage) -> Iterator[str]:
    """The app of :func:`lineage` served on localhost; yields its base URL."""
    from dataver.ui import create_app

    with serve(create_app(lineage.registry)) as url:
        yield url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def browser(chromium: WebDriver) -> WebDriver:
    """The shared browser, its console log emptied: a test sees only its own messages."""
    chromium.get_log("browser")
    return chromium


@pytest.fixture(scope="package")
def chromium() -> Iterator[WebDriver]:
    """Headless Debian Chromium driven by Selenium (`make test` installs both)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail(
            "browser tests need Debian's chromium and chromium-driver: `make test` installs "
            "them (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # NOTE: the background-networking flags stop Chromium from calling Google's hosts, which
    # this closed network refuses many times a second.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        # NOTE: what a DNS-rebinding attack achieves: a name the attacker controls answering
        # with this machine's address (test_hosts_in_the_browser).
        f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    """Where browser tests save screenshots (``test-artifacts/ui``; CI keeps them)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS
