"""The Host header check: the page answers only to the names it is served under.

A DNS-rebinding page (``http://evil.example`` whose name is re-pointed at 127.0.0.1) makes the
victim's browser send its requests to a local ``dataver ui`` with ``Host: evil.example``; the
browser then treats the answers as same-origin and lets the attacker read them. Refusing names
the server was not told about closes that.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dataver.errors import ValidationError
from dataver.ui import create_app
from dataver.ui.hosts import HostPolicy, host_of, served_names

if TYPE_CHECKING:
    from .conftest import Lineage

SCRIPT = Path(sys.executable).with_name("dataver")
ROUTES = ("/", "/api/datasets", "/static/app.js", "/api/openapi.json", "/datasets/default/images")


def _status(client: TestClient, host: str | None, path: str = "/api/datasets") -> int:
    headers = {} if host is None else {"host": host}
    status: int = client.get(path, headers=headers).status_code
    return status


@pytest.fixture(scope="module")
def client(lineage: Lineage) -> TestClient:
    return TestClient(create_app(lineage.registry), base_url="http://localhost")


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8765", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:8765", "[::1]:8765"],
)
def test_loopback_names_are_served(client: TestClient, host: str) -> None:
    for path in ROUTES:
        assert _status(client, host, path) == 200, (host, path)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8765",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "testserver",
        "localhost.",  # NOTE: a rooted name is looked up in DNS, unlike "localhost"
        "",
        "[::1",
        "localhost:port",
        "evil.example@localhost",
    ],
)
def test_any_other_name_is_refused_on_every_route(client: TestClient, host: str) -> None:
    for path in ROUTES:
        response = client.get(path, headers={"host": host})
        assert response.status_code == 400, (host, path)
        assert response.json()["error"] == "HostNotAllowed"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "--allowed-host" in response.json()["detail"]


def test_a_request_without_a_host_is_refused(lineage: Lineage) -> None:
    app = create_app(lineage.registry)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.0",
        "method": "GET",
        "scheme": "http",
        "path": "/api/datasets",
        "raw_path": b"/api/datasets",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8765),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 400


def test_addresses_are_served_since_rebinding_needs_a_name(client: TestClient) -> None:
    # NOTE: a browser sends an address as Host only when it connected to that address, so an
    # address can never be an attacker's name (a server bound to 0.0.0.0 is reached by them).
    for host in ("10.1.2.3:8765", "192.168.0.7", "[2001:db8::1]:80", "[::]"):
        assert _status(client, host) == 200, host


def test_configured_public_names_are_served(lineage: Lineage) -> None:
    client = TestClient(
        create_app(lineage.registry, allowed_hosts=["Data.Example.com", "*.corp.example"]),
        base_url="http://localhost",
    )
    assert _status(client, "data.example.com") == 200
    assert _status(client, "data.example.com:443") == 200
    assert _status(client, "ui.corp.example") == 200
    assert _status(client, "a.b.corp.example") == 200
    assert _status(client, "corp.example") == 400  # NOTE: *.name is below the name only
    assert _status(client, "example.com") == 400
    assert _status(client, "localhost") == 200  # loopback stays served


def test_the_setting_adds_names(lineage: Lineage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVER_UI_ALLOWED_HOSTS", "data.example.com, ui.example.org")
    client = TestClient(create_app(lineage.registry), base_url="http://localhost")
    assert _status(client, "data.example.com") == 200
    assert _status(client, "ui.example.org:8080") == 200
    assert _status(client, "evil.example") == 400


def test_a_star_turns_the_check_off(lineage: Lineage) -> None:
    client = TestClient(create_app(lineage.registry, allowed_hosts=["*"]))
    assert _status(client, "testserver") == 200
    assert _status(client, "anything.example") == 200


def test_the_check_holds_when_mounted(lineage: Lineage) -> None:
    outer = FastAPI()
    outer.mount("/dataver", create_app(lineage.registry, allowed_hosts=["airflow.example"]))
    client = TestClient(outer, base_url="http://airflow.example")
    assert client.get("/dataver/api/datasets").status_code == 200
    assert client.get("/dataver/", headers={"host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    "name", ["", "exa mple.com", "example.com:8080", "http://example.com", "a/b", "*.", "x*y"]
)
def test_malformed_allowed_names_are_refused(lineage: Lineage, name: str) -> None:
    with pytest.raises(ValidationError, match="allowed host"):
        create_app(lineage.registry, allowed_hosts=[name])


def test_host_parsing_and_policy() -> None:
    assert host_of("Example.COM:80") == "example.com"
    assert host_of("[::1]:8765") == "::1"
    assert host_of("[::1]") == "::1"
    assert host_of("::1") is None  # NOTE: an IPv6 Host must be bracketed
    assert host_of("a:b:c") is None
    assert host_of("") is None
    policy = HostPolicy.of(["localhost", "[::1]", "*.example.org"])
    assert policy.allows("[::1]:1")
    assert policy.allows("x.example.org")
    assert not policy.allows("example.org")
    assert not policy.allows(None)


def test_served_names_of_a_bind_address() -> None:
    assert served_names("127.0.0.1") == ("127.0.0.1",)
    assert served_names("data.example.com") == ("data.example.com",)
    # NOTE: listening everywhere: other machines reach it by this machine's name (addresses
    # are always served).
    assert served_names("0.0.0.0") == (socket.gethostname().lower(),)  # noqa: S104
    assert served_names("::") == (socket.gethostname().lower(),)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, host: str, deadline: float) -> httpx.Response:
    while True:
        try:
            return httpx.get(url, headers={"host": host}, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_dataver_ui_serves_its_names_and_refuses_others(lineage: Lineage) -> None:
    """The real console script: loopback and --allowed-host names are served, others are 400."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(SCRIPT),
            "ui",
            "--registry",
            lineage.registry.url,
            "--port",
            str(port),
            "--allowed-host",
            "data.example.com",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{port}/api/datasets"
        assert _get(url, f"127.0.0.1:{port}", deadline).status_code == 200
        assert _get(url, f"localhost:{port}", deadline).status_code == 200
        assert _get(url, "data.example.com", deadline).status_code == 200
        refused = _get(url, f"evil.example:{port}", deadline)
        assert refused.status_code == 400
        assert refused.json()["error"] == "HostNotAllowed"
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err


def test_dataver_ui_refuses_a_malformed_allowed_host() -> None:
    run = subprocess.run(
        [str(SCRIPT), "ui", "--allowed-host", "http://x.example/"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert "allowed host" in run.stderr
    assert "Traceback" not in run.stderr
