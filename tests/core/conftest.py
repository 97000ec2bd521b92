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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

import dataver

WORKER = Path(__file__).with_name("_worker.py")

Tree = Mapping[str, bytes]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every DATAVER_* setting that names a place at this test's temporary folder."""
    for name in list(os.environ):
        if name.startswith("DATAVER_"):
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


def _content_files(registry_root: Path) -> set[str]:
    out: set[str] = set()
    for top in ("packs", "objects"):
        folder = registry_root / top
        if folder.is_dir():
            out.update(p.relative_to(registry_root).as_posix() for p in folder.rglob("*"))
    return {p for p in out if (registry_root / p).is_file()}


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
    """``content_files(registry_root)``: keys of every stored content object (packs, objects)."""
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
