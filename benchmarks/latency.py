"""A TCP proxy that adds latency: every byte a client sends reaches the server N ms later.

The many-writers scenario puts it between the writers and the moto server, so that each
request pays a round trip as it would to a remote object store (moto on 127.0.0.1 answers in
about a millisecond, which hides what many requests in a row cost). It is a delay line, not
an HTTP proxy: each chunk read from the client is forwarded ``delay`` seconds after it
arrived, in order, while later chunks keep arriving, so every request (headers and body) is
delayed by ``delay`` and bandwidth is not limited; answers come back at once. An HTTP
exchange thus costs one added round trip of ``delay`` (two for a ``100 Continue``
handshake, as on a real link).

Bounded: at most :data:`MAX_CONNECTIONS` connections at once (more are refused), at most
:data:`QUEUED` chunks of :data:`CHUNK` bytes held per connection (the client waits), and
every socket has a :data:`TIMEOUT`. :meth:`LatencyProxy.stop` closes every socket.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from types import TracebackType

CHUNK = 64 << 10
QUEUED = 256
"""Chunks held per connection before the client must wait (16 MiB)."""
TIMEOUT = 120.0
"""Seconds any socket may wait for data (an idle keep-alive connection is closed then)."""
MAX_CONNECTIONS = 512

_END = b""


class LatencyProxy:
    """A delay line from ``127.0.0.1:<port>`` to ``target`` (``http://host:port``).

    Example::

        with LatencyProxy("http://127.0.0.1:5000", delay=0.02) as proxy:
            ...  # clients use proxy.url
    """

    def __init__(self, target: str, delay: float) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.2)  # NOTE: accept wakes up to see stop()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._active = 0
        self.connections = 0
        """Connections accepted so far (a check that clients went through the proxy)."""
        self._thread = threading.Thread(target=self._accept, name="latency-proxy", daemon=True)
        self._thread.start()

    def __enter__(self) -> LatencyProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting and close every connection (its transfers end with an error)."""
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            open_now, self._sockets = list(self._sockets), set()
        for sock in open_now:
            _close(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # NOTE: the listener was closed
            with self._lock:
                full = self._active >= MAX_CONNECTIONS
                if not full:
                    self._active += 1
                    self.connections += 1
            if full:
                _close(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            self._relay(client)
        finally:
            with self._lock:
                self._active -= 1

    def _relay(self, client: socket.socket) -> None:
        client.settimeout(TIMEOUT)
        try:
            upstream = socket.create_connection(self.target, timeout=TIMEOUT)
        except OSError:
            _close(client)
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sockets.update((client, upstream))
        if self._stopped.is_set():
            self._forget(client, upstream)
            return
        held: queue.Queue[tuple[float, bytes]] = queue.Queue(QUEUED)
        threads = [
            threading.Thread(target=_read, args=(client, held, self.delay), daemon=True),
            threading.Thread(target=_deliver, args=(held, upstream), daemon=True),
        ]
        for thread in threads:
            thread.start()
        _pump(upstream, client)  # NOTE: answers go back without delay
        # NOTE: the server hung up (HTTP never half-closes): nothing more can be answered.
        self._forget(client, upstream)
        for thread in threads:
            thread.join(TIMEOUT)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            self._sockets.difference_update(socks)
        for sock in socks:
            _close(sock)


def _read(source: socket.socket, held: queue.Queue[tuple[float, bytes]], delay: float) -> None:
    """Read what the client sends; queue each chunk with the time it may be forwarded."""
    try:
        while data := source.recv(CHUNK):
            held.put((time.monotonic() + delay, data), timeout=TIMEOUT)
    except (OSError, queue.Full):
        pass
    with contextlib.suppress(queue.Full):
        held.put((time.monotonic() + delay, _END), timeout=TIMEOUT)


def _deliver(held: queue.Queue[tuple[float, bytes]], target: socket.socket) -> None:
    """Forward each queued chunk once its time has come; at the end, half-close ``target``."""
    try:
        while True:
            due, data = held.get(timeout=TIMEOUT)
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if data == _END:
                break
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except (OSError, queue.Empty):
        _close(target)


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until ``source`` ends; then half-close ``target``."""
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        _close(target)
        _close(source)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
