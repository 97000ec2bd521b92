"""examples/many_writers_processpool.py: N processes build one version, run as a user runs it.

The script runs in a fresh interpreter (``python examples/many_writers_processpool.py
--registry ... --source ... --workers N``); the version it leaves holds exactly the folder's
files, and its own ``add_part`` is idempotent: a second call of a part replaces its writer's
contribution.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "many_writers_processpool.py"


def source_files(count: int) -> dict[str, bytes]:
    """``count`` files in nested folders, of different sizes."""
    return {
        f"shard-{i % 5}/{'deep/' if i % 4 == 0 else ''}f{i:04d}.bin": f"{i}\n".encode()
        * (1 + i % 29)
        for i in range(count)
    }


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("many_writers_processpool", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(180)
def test_process_pool_example_builds_one_version_from_n_writers(
    tmp_path: Path,
    registry_path: Path,
    write_tree: Callable[[Path, dict[str, bytes]], Path],
    read_tree: Callable[[Path], dict[str, bytes]],
) -> None:
    files = source_files(400)
    source = write_tree(tmp_path / "source", files)

    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--registry",
            str(registry_path),
            "--source",
            str(source),
            "--workers",
            "3",
            "--name",
            "pool",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    (version,) = dataver.Registry(registry_path).list(name="pool", states=None)
    assert version.state is dataver.State.FINAL
    assert version.stats.files == 400
    assert read_tree(Path(version.get_local_copy())) == files
    assert [line.split(":")[0].strip() for line in done.stdout.splitlines()[:3]] == [
        "part-0",
        "part-1",
        "part-2",
    ]
    assert f"{version.uri} ({version.id}): final, 400 files from 3 writers" in done.stdout


def test_add_part_again_replaces_its_own_contribution(
    tmp_path: Path,
    registry: dataver.Registry,
    registry_path: Path,
    write_tree: Callable[[Path, dict[str, bytes]], Path],
) -> None:
    example = load_example()
    files = source_files(30)
    source = write_tree(tmp_path / "source", files)
    ds = registry.create("again")
    parts = [p.to_dict() for p in dataver.partition(source, 2)]

    for part in [*parts, parts[0]]:  # NOTE: part 0 twice: a retry
        example.add_part(str(registry_path), ds.id, str(source), part)

    writers = ds.writers()
    assert [(w.name, w.committed.files if w.committed else None) for w in writers] == [
        ("part-0", 15),
        ("part-1", 15),
    ]
    ds.finalize()
    assert ds.stats.files == 30


def test_a_missing_source_fails_before_creating_a_version(
    tmp_path: Path, registry_path: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--registry",
            str(registry_path),
            "--source",
            str(tmp_path / "missing"),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "NotFoundError" in done.stderr
    assert not registry_path.exists()
