"""A real moto S3 server for the tests, and a fault-injecting HTTP proxy in front of it.

The server is ``python -m moto.server`` in its own process on 127.0.0.1 (real HTTP, not the
in-process mock). moto evaluates ``If-None-Match`` / ``If-Match`` and then writes without a lock,
so the proxy forwards conditional PUTs and DELETEs one at a time: the atomicity real S3 gives.

The proxy forwards every request to the server, records what it forwarded (method,
path, query) so tests can count PUTs and GETs, and, when told to, injects faults with a seeded
random generator: 503 SlowDown and 500 InternalError answers, connections dropped before or
after the server handled the request, and slow responses (:data:`FAULTS`). The faults that
made clients hang (:data:`HANGS`) are there too: a hang-up right after ``100 Continue``, answers
whose headers or body are cut short, an answer that never comes, and one dribbled out a byte
at a time.
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
HANGS = ("cut-continue", "cut-headers", "cut-body", "stall", "drip")
"""Faults that hung clients or handed them malformed answers:

* ``cut-continue``: to a request with ``Expect: 100-continue``, the status line of a
  ``100 Continue`` and no more (no blank line), then a hang-up; to one without, a hang-up
  before its body is read.
* ``cut-headers``: the server's answer, cut at a random byte of its status line and headers
  (or where ``Faults.cut_in`` says).
* ``cut-body``: the server's answer with its full ``Content-Length`` but half of its body
  (headers cut instead when it has no body).
* ``stall``: the request is forwarded, then nothing: no answer until the proxy is reset.
* ``drip``: the answer one byte every ``Faults.drip_interval`` seconds (no read timeout fires).
"""
_CONTINUE_CUT = b"HTTP/1.1 100 Continue\r\n"


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
    paths: tuple[str, ...] = ()
    """Inject only into requests whose path and query hold one of these (e.g. ``/objects/``,
    ``list-type=2``); all requests when empty."""
    drip_interval: float = 0.2
    """Seconds between two bytes of a ``drip`` answer."""
    cut_in: tuple[str, int] | None = None
    """``cut-headers`` cuts inside this header (name, characters of its line kept) when the
    answer has it, e.g. ``("Last-Modified", 24)`` sends ``Last-Modified: Fri, 04 D``, and
    ``("Content-Length", 0)`` drops the header and what follows; else at a random byte."""
    limit: int | None = None
    """Inject at most this many faults (then forward faithfully)."""
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
        self.expect_continue = 0
        """Requests that carried ``Expect: 100-continue``."""
        self._lock = threading.Lock()
        self._conditional = threading.Lock()
        self._released = threading.Event()
        """Set to end every ``stall`` and ``drip`` in progress (reset and stop set it)."""
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
            self.expect_continue = 0
            self._released.set()  # NOTE: stalled answers of the last test end (hang up) now
            self._released = threading.Event()

    def count(self, method: str, path_part: str = "") -> int:
        with self._lock:
            return sum(1 for m, p, _, _ in self.requests if m == method and path_part in p)

    def matching(self, method: str, path_part: str = "") -> list[tuple[str, str, str, str]]:
        with self._lock:
            return [r for r in self.requests if r[0] == method and path_part in r[1]]

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def _decide(self, method: str, target: str) -> str | None:
        path = target.partition("?")[0]
        with self._lock:
            faults = self.faults
            if faults.paths and not any(part in target for part in faults.paths):
                return None
            if faults.limit is not None and len(self.injected) >= faults.limit:
                return None
            if method in faults.methods and faults.rng.random() < faults.rate:
                kind = faults.rng.choice(faults.kinds)
                self.injected.append((method, path, kind))
                return kind
        return None

    def _cut_at(self, size: int) -> int:
        """A seeded cut point inside ``size`` bytes (at least one byte kept, one lost)."""
        with self._lock:
            return self.faults.rng.randrange(1, size) if size > 1 else 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # NOTE: a GET answer goes out in two writes (headers, body); with Nagle on, the
            # body waits for the client's delayed ACK of the headers: 40 ms on every request.
            disable_nagle_algorithm = True

            _fault: str | None = None
            _decided = False

            def log_message(self, *args: Any) -> None:
                del args

            def _choose(self) -> str | None:
                if not self._decided:
                    self._decided = True
                    self._fault = proxy._decide(self.command, self.path)
                return self._fault

            def handle_expect_100(self) -> bool:
                # NOTE: botocore reads lines after "100 Continue" until a blank one: at EOF
                # it reads b"" forever, at full CPU, with no timeout (awsrequest.py).
                with proxy._lock:
                    proxy.expect_continue += 1
                if self._choose() != "cut-continue":
                    return super().handle_expect_100()
                self._record()
                with contextlib.suppress(OSError):
                    self.wfile.write(_CONTINUE_CUT)
                    self.wfile.flush()
                self._drop()
                return False

            def _record(self) -> None:
                path, _, query = self.path.partition("?")
                with proxy._lock:
                    proxy.requests.append(
                        (self.command, path, query, self.headers.get("Range") or "")
                    )

            def _relay(self) -> None:
                fault = self._choose()
                self._decided = False  # NOTE: the next request on this connection draws anew
                if fault == "cut-continue":
                    self._record()
                    self._drop()  # NOTE: no Expect header: hang up before reading the body
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                self._record()
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
                if fault == "stall":
                    proxy._released.wait()  # NOTE: the server did the work; no answer comes
                    self._drop()
                    return
                if fault in ("cut-headers", "cut-body", "drip"):
                    self._broken(fault, status, headers, data)
                    return
                self.send_response(status)
                # NOTE: a HEAD answer keeps the server's Content-Length (the object's size).
                dropped: tuple[str, ...] = ("transfer-encoding", "connection")
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

            def _raw(self, status: int, headers: list[tuple[str, str]], data: bytes) -> bytes:
                """The answer as the client would get it, status line to body."""
                dropped = ("transfer-encoding", "connection")
                keep = [(k, v) for k, v in headers if k.lower() not in dropped]
                if self.command != "HEAD":
                    keep = [(k, v) for k, v in keep if k.lower() != "content-length"]
                    keep.append(("Content-Length", str(len(data))))
                lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
                lines += [f"{k}: {v}" for k, v in keep]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                return head + (data if self.command != "HEAD" else b"")

            def _broken(
                self, fault: str, status: int, headers: list[tuple[str, str]], data: bytes
            ) -> None:
                raw = self._raw(status, headers, data)
                head = len(raw) - (len(data) if self.command != "HEAD" else 0)
                if fault == "drip":
                    released = proxy._released
                    interval = proxy.faults.drip_interval
                    with contextlib.suppress(OSError):
                        for i in range(len(raw)):
                            self.wfile.write(raw[i : i + 1])
                            self.wfile.flush()
                            if released.wait(interval):
                                break
                    self._drop()
                    return
                if fault == "cut-body" and head < len(raw):
                    cut = head + (len(raw) - head) // 2
                else:
                    cut = self._cut_in(raw[:head]) or proxy._cut_at(head)
                with contextlib.suppress(OSError):
                    self.wfile.write(raw[:cut])
                    self.wfile.flush()
                self._drop()

            def _cut_in(self, head: bytes) -> int | None:
                """Where ``Faults.cut_in`` cuts ``head`` (None: it names no header of it)."""
                if proxy.faults.cut_in is None:
                    return None
                name, kept = proxy.faults.cut_in
                start = head.lower().find(b"\r\n" + name.lower().encode() + b":")
                return None if start < 0 else start + 2 + kept

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
