"""Running the benchmark suite at its quick sizes, as the smoke tests do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_quick(tmp_path: Path, *args: str, timeout: float) -> str:
    """Run ``python -m benchmarks --quick --no-peers ARGS`` in ``tmp_path``; its report.

    Speed is never asserted: a smoke test only proves the scenarios cannot rot.
    """
    output = tmp_path / "results.md"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--no-peers",
            *args,
            "--work-dir",
            str(tmp_path / "work"),
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return output.read_text()
