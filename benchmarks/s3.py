"""A moto S3 server for the ``s3`` scenario, and the boto3 floors measured against it.

The server is ``python -m moto.server`` (moto[server] in this environment) on 127.0.0.1, on a
free port, started once for the whole scenario and stopped at its end. Workers reach it
through the standard ``AWS_*`` variables (``AWS_ENDPOINT_URL`` included); the credentials are
made-up strings moto accepts. Between runs the orchestrator resets the server, which drops
every bucket and the objects' spooled temporary files.

The floors (one PUT per file, ``upload_file``, ``download_file``) run as operations of
:mod:`benchmarks.worker`, in fresh processes timed exactly like dataver's.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.subject import OpResult, run_worker

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import TracebackType

THREADS = 8  # dataver's default max_workers: the floors use as many threads
# dataver's own multipart settings (dataver.storage.s3.client: _MULTIPART_THRESHOLD and
# _MULTIPART_CHUNK), for the informative floor rows that transfer in parts of the same size.
DATAVER_PARTS = (64 << 20, 16 << 20)
_REGION = "us-east-1"
_START_TIMEOUT = 60.0


def missing_modules() -> list[str]:
    """The modules the scenario needs that this interpreter lacks (boto3, moto)."""
    return [name for name in ("boto3", "moto") if importlib.util.find_spec(name) is None]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer:
    """``python -m moto.server`` on a free port, as a context manager.

    Single-process, threaded Python: every request is served under one GIL, so what is
    measured against it is bounded by moto, not by a network or a real object store.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                self._api("").close()
                return
            except OSError:
                if self._proc is None or self._proc.poll() is not None:
                    raise RuntimeError("moto server exited at start") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server not up after {_START_TIMEOUT:.0f} s") from None
                time.sleep(0.1)

    def _api(self, action: str, data: bytes | None = None) -> Any:
        # The URL is our own server on 127.0.0.1, never user input.
        return urllib.request.urlopen(f"{self.url}/moto-api/{action}", data=data, timeout=10)  # noqa: S310

    def stop(self) -> None:
        """Terminate the server (kill it if it does not exit within 10 s)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def reset(self) -> None:
        """Drop every bucket and object (moto's reset API): frees the server's memory."""
        self._api("reset", data=b"").close()

    def env(self) -> dict[str, str]:
        """The ``AWS_*`` variables that point boto3 (and dataver) at this server."""
        return {**credentials(), "AWS_ENDPOINT_URL": self.url}

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` (a valid S3 name: lowercase, 3-63 chars); return the name."""
        with self._client() as client:
            client.create_bucket(Bucket=name)
        return name

    def count_objects(self, bucket: str, prefix: str) -> int:
        """How many objects ``bucket`` holds under ``prefix`` (a check, not a measurement)."""
        with self._client() as client:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return sum(page.get("KeyCount", 0) for page in pages)

    @contextmanager
    def _client(self) -> Iterator[Any]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.url, **_client_credentials())
        try:
            yield client
        finally:
            client.close()


def credentials() -> dict[str, str]:
    """Made-up credentials and a region, as ``AWS_*`` variables (moto accepts any)."""
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": _REGION,
    }


def _client_credentials() -> dict[str, str]:
    env = credentials()
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


@dataclass(frozen=True)
class Boto3Floor:
    """Plain boto3 transfers against one bucket, each in a fresh worker process."""

    server: MotoServer
    bucket: str

    def put_each(self, folder: Path, prefix: str) -> OpResult:
        """One ``put_object`` per file of ``folder``, from :data:`THREADS` threads."""
        return self._op("put_each", [folder], {"folder": str(folder), "prefix": prefix})

    def upload_files(
        self, folder: Path, prefix: str, parts: tuple[int, int] | None = None
    ) -> OpResult:
        """``upload_file`` of each file of ``folder`` in turn, ``max_concurrency`` 8 each.

        ``parts``: (multipart threshold, part size); None keeps boto3's defaults (8 MiB, 8 MiB).
        """
        spec = {"folder": str(folder), "prefix": prefix, "parts": parts}
        return self._op("upload_files", [folder], spec)

    def download_files(
        self, prefix: str, target: Path, parts: tuple[int, int] | None = None
    ) -> OpResult:
        """``download_file`` of every object under ``prefix`` into ``target``, in turn."""
        spec = {"prefix": prefix, "target": str(target), "parts": parts}
        return self._op("download_files", [], spec)

    def _op(self, op: str, warm: list[Path], spec: dict[str, Any]) -> OpResult:
        payload = {"op": op, "bucket": self.bucket, "threads": THREADS, **spec}
        return run_worker(payload, self.server.env(), warm)


def bucket_name(scenario: str, index: int) -> str:
    """A valid, fresh bucket name for run ``index`` of ``scenario``."""
    tag = re.sub(r"[^a-z0-9-]", "-", scenario.lower())
    name = f"dataver-bench-{index}-{time.time_ns() % 10**9}-{tag}"
    return name[:63].rstrip("-")
