"""A fault proxy that can also cut response bodies, and S3 registries behind it.

The reliability tests use this subclass of ``FaultProxy`` for its truncated bodies (a reset in
the middle of a download) and its module-scoped fixtures; it is otherwise the same proxy, with
the same faults (``s3server.FAULTS``, and the hangs and cut answers of ``s3server.HANGS``).

Import the fixtures into a test module to use them (pytest finds them there).
"""

from __future__ import annotations

import contextlib
import random
import socket
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest

from .s3server import FaultProxy, MotoServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from http.server import BaseHTTPRequestHandler


class QuickProxy(FaultProxy):
    """:class:`FaultProxy` plus truncated bodies.

    ``truncate(rate, seed)`` makes that share of successful GET answers announce their full
    ``Content-Length`` but send only the first half of the body, then drop the connection:
    what a reset in the middle of a download looks like to the client.
    """

    def __init__(self, target: str) -> None:
        self.truncate(0.0)
        self.truncated = 0
        super().__init__(target)

    def truncate(self, rate: float, seed: int = 0) -> None:
        """Cut the bodies of ``rate`` of the GET answers from now on (seeded)."""
        self._cut_rate = rate
        self._cut_rng = random.Random(seed)

    def _cut_next(self) -> bool:
        with self._lock:
            cut = self._cut_rng.random() < self._cut_rate
            self.truncated += cut
            return cut

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        proxy = self

        class Handler(base):  # type: ignore[valid-type,misc]
            _cut = False

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                status, headers, data = super()._forward(body)
                if self.command == "GET" and 200 <= status < 300 and len(data) > 1:
                    self._cut = proxy._cut_next()
                return status, headers, data

            def end_headers(self) -> None:
                super().end_headers()
                if self._cut:
                    self._cut = False
                    self.wfile = _HalfThenHangUp(self)

        return Handler


class _HalfThenHangUp:
    """A body writer that sends half of what it is given, then closes the connection."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler
        self.real = handler.wfile

    def write(self, data: bytes) -> int:
        with contextlib.suppress(OSError):
            self.real.write(data[: len(data) // 2])
            self.real.flush()
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        self.handler.close_connection = True
        self.handler.wfile = self.real
        return len(data)

    def flush(self) -> None:
        return None


@pytest.fixture(scope="module")
def quick_proxy(moto_server: MotoServer) -> Iterator[QuickProxy]:
    """One quick fault proxy in front of the session's moto server, per test module."""
    proxy = QuickProxy(moto_server.url)
    yield proxy
    proxy.stop()


def use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, prefix: str = "rel") -> str:
    """Point the AWS_* variables at ``endpoint``, make a fresh bucket, return its registry URL.

    Child processes inherit the variables, so workers reach the same bucket.
    """
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "reliability-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "reliability-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("DATAVER_RETRY_MAX_WAIT", "0.5")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"{prefix}-{uuid.uuid4().hex[:20]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/registry"


@pytest.fixture
def quick_s3_url(quick_proxy: QuickProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``s3://<fresh bucket>/registry`` through the quick proxy (faults off at start and end)."""
    quick_proxy.reset()
    url = use_s3(monkeypatch, quick_proxy.url)
    quick_proxy.reset()
    yield url
    quick_proxy.reset()
