"""Issue 22's scenarios run end to end (``--quick``: small files, chunking threshold lowered,
no peers, one run), each selectable with ``--only``.

Speed is never asserted here: this only proves the scenarios cannot rot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .quick import run_quick

if TYPE_CHECKING:
    from pathlib import Path

ONLY = ("chunks", "daily", "chunk-ingest", "open-range", "chunk-sizes")


def test_quick_chunk_scenarios_write_their_tables(tmp_path: Path) -> None:
    selected = [arg for name in ONLY for arg in ("--only", name)]
    report = run_quick(tmp_path, *selected, timeout=300)
    assert not (tmp_path / "work" / "data-quick" / "small").exists()  # only what they need
    for title in (
        "## Chunks: what a child version stores after an edit of one large file",
        "## Daily: 4 versions of a growing dataset",
        "## Chunk ingest: a new version of 2 x 4 MiB random files",
        "## Open-range: Dataset.open of a 32 MiB chunked file",
        "## Chunk sizes: dataver's child versions for DATAVER_CHUNK_SIZE = 64 KiB, 256 KiB",
        "## Targets (issue 22, content-defined chunks)",
    ):
        assert title in report
    for row in (
        "(a) dataver: child stored",
        "(b) dataver, chunking off (whole files): child stored",
        "(c) cp -r (a full copy per version): child stored",
        "dataver: total stored",
        "dataver: ingest, chunked",
        "dataver: cold get_local_copy, whole-file objects",
        "dataver, chunked: bytes read from the registry",
        "(daily) 256 KiB: store writes (PUTs)",
    ):
        assert f"| {row} |" in report, row
    assert "| case | chunk size | child stored, MiB |" in report
    assert "DVC not run (--no-peers or not installed)." in report
    assert "borg and restic not run (--no-peers)." in report
    for target in (
        "Chunks (a): the child of a random file with 1 MiB overwritten in the middle stores "
        "<= 4 MiB",
        "Ingest of 4 large files with chunking within 1.3x of without",
        "Cold get_local_copy of them with chunking within 1.2x of without",
        "Open-range: 1 MiB read at an offset reads <= 2 x max chunk (8 MiB) from the registry",
    ):
        line = next(line for line in report.splitlines() if line.startswith(f"| {target} |"))
        assert line.endswith(("| PASS |", "| FAIL |")), line
