"""``dataver ui``: the real console script serves the page and its API until stopped."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

import dataver

from .conftest import SCRIPT

pytest.importorskip("fastapi")

if TYPE_CHECKING:
    from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, deadline: float) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - localhost
                body: bytes = response.read()
                return body
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_ui_serves_the_registry_on_localhost(tmp_path: Path) -> None:
    registry = tmp_path / "reg"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text("x,y\n1,2\n")
    ds = dataver.Registry(str(registry)).create("served")
    ds.add_files(src)
    ds.finalize(auto_upload=True)
    port = _free_port()
    proc = subprocess.Popen(
        [str(SCRIPT), "ui", "--registry", str(registry), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        datasets = json.loads(_get(f"http://127.0.0.1:{port}/api/datasets", deadline))
        assert [(d["project"], d["name"]) for d in datasets] == [("default", "served")]
        page = _get(f"http://127.0.0.1:{port}/versions/{ds.id}", deadline).decode()
        assert "static/app.js" in page
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert f"at http://127.0.0.1:{port}/" in err
    assert proc.returncode in (0, 130), err


def test_ui_rejects_a_bad_port() -> None:
    run = subprocess.run(
        [str(SCRIPT), "ui", "--port", "70000"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert "--port" in run.stderr
    assert "65535" in run.stderr
