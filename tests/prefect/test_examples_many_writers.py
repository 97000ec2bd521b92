"""examples/many_writers_dask.py: a Dask LocalCluster builds one version, run as a user runs it.

Runs in the Prefect venv, the one that has ``dask[distributed]`` (``PREFECT_TEST_TOOLS`` in
the Makefile); the script itself needs no Prefect.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# NOTE: the prefect venv installs it (Makefile PREFECT_TEST_TOOLS): missing, the suite fails
import distributed  # noqa: F401
import pytest

import dataver

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "many_writers_dask.py"


def make_source(root: Path, count: int) -> dict[str, bytes]:
    files = {
        f"shard-{i % 6}/{'deep/' if i % 5 == 0 else ''}f{i:04d}.bin": f"{i}\n".encode()
        * (1 + i % 37)
        for i in range(count)
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def read_tree(root: str | Path) -> dict[str, bytes]:
    base = Path(root)
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


@pytest.mark.timeout(240)
def test_dask_example_builds_one_version_from_n_writers(registry_url: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    files = make_source(source, 400)

    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--registry",
            registry_url,
            "--source",
            str(source),
            "--workers",
            "2",
            "--name",
            "dask",
        ],
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    (version,) = dataver.Registry(registry_url).list(name="dask", states=None)
    assert (version.state, version.stats.files) == (dataver.State.FINAL, 400)
    assert read_tree(version.get_local_copy()) == files
    assert "  part-0: 200 files\n  part-1: 200 files\n" in done.stdout
    assert f"{version.uri} ({version.id}): final, 400 files from 2 writers" in done.stdout
