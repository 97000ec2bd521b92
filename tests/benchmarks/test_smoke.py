"""The benchmark suite runs end to end (``--quick``: small data, no peers, one run).

Speed is never asserted here: this only proves ``make bench`` cannot rot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .quick import run_quick

if TYPE_CHECKING:
    from pathlib import Path

SCENARIOS = (
    "Small files",
    "Small files at scale",
    "Large files",
    "Mixed sizes",
    "1% child",
    "1% child, mixed sizes",
    "Child with 1 file renamed",
    "No-change sync_folder",
    "get_local_copy",
    "One file of a large version",
    "A 20,000-entry manifest",
    "S3 (one moto server)",
    "ClearML without a server",
    "Many writers on S3 (moto, 20 ms added per request)",
    "Many writers locally",
    "Finalize of 20,000 files contributed by 16 writers",
    "Chunks: what a child version stores after an edit of one large file",
    "Daily: 4 versions of a growing dataset",
    "Chunk ingest: a new version of 2 x 4 MiB random files",
    "Open-range: Dataset.open of a 32 MiB chunked file",
    "Chunk sizes: dataver's child versions",
)


def test_quick_benchmark_writes_every_scenario(tmp_path: Path) -> None:
    # NOTE: issue 22's five scenarios add about a minute
    report = run_quick(tmp_path, timeout=420)
    for scenario in SCENARIOS:
        assert f"## {scenario}" in report, scenario
    assert "## Targets (issue 2, Speed)" in report
    assert "## Targets (issue 3, local cache)" in report
    assert "## Targets (issue 4, S3)" in report
    assert "## Targets (issue 10, side by side, at scale)" in report
    assert "## Targets (issue 21, many writers, one version)" in report
    assert "## Targets (issue 22, content-defined chunks)" in report
    for row in (
        "dataver: cold get_local_copy, small",
        "dataver: tree rebuilt from cached blobs, small",
        "dataver: warm get with DATAVER_CACHE_VERIFY=size, small",
        "floor: one put_object per file, 8 threads, small",
        "dataver: cold get_local_copy, large",
        "dataver: warm get_local_copy of 1,000 files",
        "dataver: child with 1 file renamed (sync_folder)",
        "dataver: cold Dataset.open(one file), read to the end",
        "dataver: cold get_local_copy(paths=[one file])",
        "dataver: load (decode, validate, iterate every entry)",
        "dataver: diff_manifests of the two",
        "dataver: 1 writer, 2,000 files",
        "dataver: 8 writers at once, the same files",
        "dataver: finalize after 8 writers",
        "dataver: 2 writers at once, the same files",
        "dataver: finalize (16 writers gathered, merged, sealed)",
    ):
        assert f"| {row} |" in report
    assert "files/s." in report  # the rebuild's median as files per second, in the notes
    assert "Aggregate throughput (medians): 1 writer" in report  # the writers' files/s
    for target in (
        "1% child of 4 KiB files: its scan floor + at most 1 ms per changed file",
        "1% child of mixed sizes: its scan floor + at most 1 ms per changed file",
        "Cold get_local_copy, small files, within 2x of cp -r",
        "Tree from cached blobs at >= 20,000 files/s",
        "Warm get of 10,000 files: marker check only, well under 50 ms",
        "S3 small files: dataver >= 20x faster than one PUT per file with 8 threads",
        "S3 large upload within 1.5x of boto3 upload_file",
        "S3 large download within 1.5x of boto3 download_file",
        "Warm get O(1): 100,000 files no slower than 2x 10,000 files",
        "1M-entry manifest loads in under 3 s",
        "1M-entry manifest loads with under 1 GiB peak RSS",
        "S3 with 20 ms per request: 8 writers at >= 5x the throughput of 1 writer",
        "Local registry: 2 writers at >= 1.6x the throughput of 1 writer",
        "Finalize of 1,000,000 files from 16 writers in under 10 s",
        "Finalize of 1,000,000 files from 16 writers with under 1 GiB peak RSS",
    ):
        line = next(line for line in report.splitlines() if line.startswith(f"| {target} |"))
        assert line.endswith(("| PASS |", "| FAIL |")), line
