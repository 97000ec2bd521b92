"""A real moto S3 server for the tests, and a fault-injecting HTTP proxy in front of it.

The server is ``python -m moto.server`` in its own process on 127.0.0.1 (real HTTP, not the
in-process mock). moto evaluates ``If-None-Match`` / ``If-Match`` and then writes without a lock,
so the proxy forwards conditional PUTs and DELETEs one at a time: the atomicity real S3 gives.

The proxy forwards every request to the server, records what it forwarded (method,
path, query) so tests can count PUTs and GETs, and, when told to, injects faults with a seeded
random generator: 503 SlowDown and 500 InternalError answers, connections dropped before or
after the server handled the request, and slow responses.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
_INTERNAL = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error.</Message></Error>"
)
FAULTS = ("503", "500", "drop-before", "drop-after", "slow")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer:
    """``python -m moto.server`` on a free port; ``url`` is its endpoint."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).close()  # noqa: S310
                return
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    msg = "moto server did not start"
                    raise RuntimeError(msg) from None
                time.sleep(0.1)

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


@dataclass
class Faults:
    """What to inject: each request fails with probability ``rate``, kind chosen at random."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULTS
    methods: tuple[str, ...] = ("GET", "PUT", "POST", "HEAD", "DELETE")
    seed: int = 0
    delay: float = 0.0
    """Extra latency on every forwarded request (seconds)."""
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class FaultProxy:
    """An HTTP proxy to ``target`` that counts requests and injects :class:`Faults`."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 80
        self.faults = Faults()
        self.requests: list[tuple[str, str, str, str]] = []
        """``(method, path, query, Range header)`` of every request received."""
        self.injected: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._conditional = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self, faults: Faults | None = None) -> None:
        with self._lock:
            self.faults = faults or Faults()
            self.requests.clear()
            self.injected.clear()

    def count(self, method: str, path_part: str = "") -> int:
        with self._lock:
            return sum(1 for m, p, _, _ in self.requests if m == method and path_part in p)

    def matching(self, method: str, path_part: str = "") -> list[tuple[str, str, str, str]]:
        with self._lock:
            return [r for r in self.requests if r[0] == method and path_part in r[1]]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _decide(self, method: str) -> str | None:
        with self._lock:
            faults = self.faults
            if method in faults.methods and faults.rng.random() < faults.rate:
                return faults.rng.choice(faults.kinds)
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # NOTE: a GET answer goes out in two writes (headers, body); with Nagle on, the
            # body waits for the client's delayed ACK of the headers: 40 ms on every request.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                del args

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                fault = proxy._decide(self.command)
                with proxy._lock:
                    proxy.requests.append(
                        (self.command, path, query, self.headers.get("Range") or "")
                    )
                    if fault:
                        proxy.injected.append((self.command, path, fault))
                    delay = proxy.faults.delay
                if delay:
                    time.sleep(delay)
                if fault in ("503", "500"):
                    self._answer(
                        503 if fault == "503" else 500, _SLOW_DOWN if fault == "503" else _INTERNAL
                    )
                    return
                if fault == "drop-before":
                    self._drop()
                    return
                if fault == "slow":
                    time.sleep(0.3)
                conditional = self.command in ("PUT", "DELETE") and (
                    "If-None-Match" in self.headers or "If-Match" in self.headers
                )
                if conditional:
                    # NOTE: moto checks the condition, then writes, with no lock between (its
                    # server is threaded): two racing conditional PUTs can both succeed. S3
                    # makes the check and the write one atomic step; one at a time does too.
                    with proxy._conditional:
                        status, headers, data = self._forward(body)
                else:
                    status, headers, data = self._forward(body)
                if fault == "drop-after":
                    self._drop()  # NOTE: the server did the work; the client never hears it
                    return
                self.send_response(status)
                # NOTE: a HEAD answer keeps the server's Content-Length (the object's size).
                dropped = ("transfer-encoding", "connection")
                if self.command != "HEAD":
                    dropped += ("content-length",)
                for name, value in headers:
                    if name.lower() not in dropped:
                        self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                conn = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    return response.status, response.getheaders(), data
                finally:
                    conn.close()

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drop(self) -> None:
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay  # noqa: N815

        return Handler
