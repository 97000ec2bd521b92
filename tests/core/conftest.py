"""Fixtures of the core suite: real folders, a fresh registry per test, an isolated cache.

Every test runs with ``DATAVER_CACHE_DIR`` and ``DATAVER_REGISTRY`` pointing into its own
temporary folder (autouse), so nothing ever touches the real user cache or registry, and
child processes started by a test inherit the same isolation through the environment.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import boto3
import pytest

import dataver

from .s3server import FaultProxy, MotoServer

WORKER = Path(__file__).with_name("_worker.py")

Tree = Mapping[str, bytes]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every DATAVER_* setting that names a place at this test's temporary folder."""
    for name in list(os.environ):
        # NOTE: DATAVER_NATIVE=0 (make test-core-pure) must reach the workers tests start.
        if name.startswith("DATAVER_") and name != "DATAVER_NATIVE":
            monkeypatch.delenv(name)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(cache))
    # NOTE: fsync only adds disk stalls to a test (and time-sensitive lease tests then flake
    # on a busy machine); test_durable_round_trip keeps the fsync path covered.
    monkeypatch.setenv("DATAVER_FSYNC", "0")
    monkeypatch.setenv("DATAVER_REGISTRY", str(tmp_path / "default-registry"))
    return cache


@pytest.fixture
def cache_dir(isolated_env: Path) -> Path:
    """The cache folder of this test (``DATAVER_CACHE_DIR``)."""
    return isolated_env


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    """Where this test's registry lives (created on first write)."""
    return tmp_path / "registry"


@pytest.fixture
def registry(registry_path: Path) -> dataver.Registry:
    """A fresh, empty local-folder registry."""
    return dataver.Registry(registry_path)


def _write_tree(root: Path, files: Tree) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _content_files(registry: Path | dataver.Registry) -> set[str]:
    if isinstance(registry, dataver.Registry):
        return {i.key for top in ("packs/", "objects/") for i in registry.store.list(top)}
    out: set[str] = set()
    for top in ("packs", "objects"):
        folder = registry / top
        if folder.is_dir():
            out.update(p.relative_to(registry).as_posix() for p in folder.rglob("*"))
    return {p for p in out if (registry / p).is_file()}


@pytest.fixture
def write_tree() -> Callable[[Path, Tree], Path]:
    """``write_tree(root, {"a/b.txt": b"..."})`` writes files (folders made as needed)."""
    return _write_tree


@pytest.fixture
def read_tree() -> Callable[[Path], dict[str, bytes]]:
    """``read_tree(root)`` returns ``{posix relative path: bytes}`` of every file under root."""
    return _read_tree


@pytest.fixture
def content_files() -> Callable[[Path], set[str]]:
    """``content_files(registry or its folder)``: keys of every stored content object."""
    return _content_files


@pytest.fixture
def finalized(registry: dataver.Registry, tmp_path: Path) -> Callable[..., dataver.Dataset]:
    """``finalized({path: bytes}, name="ds", parents=None, **create_kwargs)`` -> Final version.

    Writes the files to a fresh folder, creates the version (on top of its parents' files),
    adds the folder, uploads and finalizes.
    """
    counter = itertools.count()

    def build(
        files: Tree,
        name: str = "ds",
        parents: list[str | dataver.Dataset] | None = None,
        **kwargs: object,
    ) -> dataver.Dataset:
        folder = _write_tree(tmp_path / f"src-{next(counter)}", files)
        ds = registry.create(name, parents=parents, **kwargs)
        ds.add_files(folder)
        ds.finalize(auto_upload=True)
        return ds

    return build


def run_worker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``tests/core/_worker.py`` in a fresh interpreter (inherits the isolated env)."""
    return subprocess.run(
        [sys.executable, str(WORKER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def worker() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``worker(command, *args)``: run one worker process to completion."""
    return run_worker


@pytest.fixture
def spawn_worker() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``spawn_worker(command, *args)``: start a worker with pipes; killed at teardown."""
    started: list[subprocess.Popen[str]] = []

    def spawn(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


# ------------------------------------------------------------------------------ S3 (moto)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One real moto S3 server (its own process, real HTTP on 127.0.0.1) per test session."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_proxy(moto_server: MotoServer) -> Iterator[FaultProxy]:
    """The fault-injecting, request-counting proxy in front of the moto server."""
    proxy = FaultProxy(moto_server.url)
    yield proxy
    proxy.stop()


@pytest.fixture
def s3_url(s3_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``s3://<fresh bucket>/registry`` through the proxy, with the standard AWS_* variables.

    Child processes inherit the variables, so workers reach the same bucket.
    """
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_proxy.url)
    monkeypatch.setenv("DATAVER_RETRY_MAX_WAIT", "0.5")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    s3_proxy.reset()
    boto3.client("s3", endpoint_url=s3_proxy.url).create_bucket(Bucket=bucket)
    s3_proxy.reset()
    yield f"s3://{bucket}/registry"
    s3_proxy.reset()


@pytest.fixture(params=["local", "s3"])
def any_registry(request: pytest.FixtureRequest, registry_path: Path) -> dataver.Registry:
    """A fresh registry on a local folder, then (second run) on the moto S3 server."""
    if request.param == "local":
        return dataver.Registry(registry_path)
    url: str = request.getfixturevalue("s3_url")
    return dataver.Registry(url)
