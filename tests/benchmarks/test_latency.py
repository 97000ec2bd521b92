"""The latency proxy of the many-writers scenario: bytes intact, each request delayed once."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING

import boto3
from benchmarks.latency import LatencyProxy
from benchmarks.s3 import MotoServer, bucket_name

if TYPE_CHECKING:
    from collections.abc import Iterator

DELAY = 0.05


@contextlib.contextmanager
def _echo_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that sends back what it reads, per connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def echo(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            while data := conn.recv(1 << 16):
                conn.sendall(data)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def _connect(proxy: LatencyProxy) -> socket.socket:
    host, _, port = proxy.url.removeprefix("http://").partition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _receive(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return bytes(data)


def test_each_exchange_is_delayed_once_and_bytes_arrive_intact() -> None:
    with _echo_server() as target, LatencyProxy(target, DELAY) as proxy, _connect(proxy) as sock:
        for size in (10, 3 << 20):
            payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
            start = time.monotonic()
            sender = threading.Thread(target=sock.sendall, args=(payload,))
            sender.start()
            assert _receive(sock, len(payload)) == payload
            sender.join()
            took = time.monotonic() - start
            assert DELAY <= took < DELAY + 2.0
    assert proxy.connections == 1


def test_the_delay_is_latency_not_a_limit_on_bandwidth() -> None:
    """Twenty messages sent one after another arrive one delay after the last was sent: the
    proxy does not wait a delay per message in turn (that would take 20 delays)."""
    with _echo_server() as target, LatencyProxy(target, DELAY) as proxy, _connect(proxy) as sock:
        start = time.monotonic()
        for i in range(20):
            sock.sendall(f"message {i:02d};".encode())
            time.sleep(0.005)
        sent = time.monotonic()
        assert _receive(sock, 20 * 11) == b"".join(f"message {i:02d};".encode() for i in range(20))
        done = time.monotonic()
        assert done - sent < DELAY + 0.3
        assert done - start < 20 * DELAY


def test_stop_closes_open_connections() -> None:
    with _echo_server() as target:
        proxy = LatencyProxy(target, DELAY)
        sock = _connect(proxy)
        sock.sendall(b"ping")
        assert _receive(sock, 4) == b"ping"
        proxy.stop()
        sock.settimeout(5)
        try:
            assert sock.recv(16) == b""
        except ConnectionResetError:
            pass  # NOTE: closed either way
        finally:
            sock.close()


def test_s3_requests_through_the_proxy_each_pay_the_delay() -> None:
    with MotoServer() as server, LatencyProxy(server.url, DELAY) as proxy:
        env = server.env()
        client = boto3.client(
            "s3",
            endpoint_url=proxy.url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        bucket = server.create_bucket(bucket_name("latency", 0))
        body = b"v" * (2 << 20)
        client.put_object(Bucket=bucket, Key="k", Body=body)
        start = time.monotonic()
        for _ in range(5):
            assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == body
        assert time.monotonic() - start >= 5 * DELAY
        assert proxy.connections >= 1
