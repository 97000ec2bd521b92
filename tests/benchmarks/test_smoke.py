"""The benchmark suite runs end to end (``--quick``: small data, no peers, one run).

Speed is never asserted here: this only proves ``make bench`` cannot rot.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = (
    "Small files",
    "Large files",
    "1% child",
    "No-change sync_folder",
    "get_local_copy",
    "S3 (one moto server)",
)


def test_quick_benchmark_writes_every_scenario(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--no-peers",
            "--work-dir",
            str(tmp_path / "work"),
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = output.read_text()
    for scenario in SCENARIOS:
        assert f"## {scenario}" in report
    assert "## Targets (issue 2, Speed)" in report
    assert "## Targets (issue 3, local cache)" in report
    assert "## Targets (issue 4, S3)" in report
    for row in (
        "dataver: cold get_local_copy, small",
        "dataver: tree rebuilt from cached blobs, small",
        "dataver: warm get with DATAVER_CACHE_VERIFY=size, small",
        "floor: one put_object per file, 8 threads, small",
        "dataver: cold get_local_copy, large",
    ):
        assert f"| {row} |" in report
    assert "files/s." in report  # the rebuild's median as files per second, in the notes
    for target in (
        "Cold get_local_copy, small files, within 2x of cp -r",
        "Tree from cached blobs at >= 20,000 files/s",
        "Warm get of 10,000 files: marker check only, well under 50 ms",
        "S3 small files: dataver >= 20x faster than one PUT per file with 8 threads",
        "S3 large upload within 1.5x of boto3 upload_file",
        "S3 large download within 1.5x of boto3 download_file",
    ):
        line = next(line for line in report.splitlines() if line.startswith(f"| {target} |"))
        assert line.endswith(("| PASS |", "| FAIL |")), line
