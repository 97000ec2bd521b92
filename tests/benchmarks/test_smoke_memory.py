"""Issue 24's memory scenario runs end to end at its quick size (10,000 files, one run).

Memory is never asserted here: this only proves the scenario cannot rot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .quick import run_quick

if TYPE_CHECKING:
    from pathlib import Path


def test_quick_memory_scenario_writes_its_table(tmp_path: Path) -> None:
    report = run_quick(tmp_path, "--only", "memory", timeout=600)
    assert not (tmp_path / "work" / "data-quick" / "small").exists()  # only what it needs
    assert "## Memory: peak RSS of reading a version of 10,000 files x 64 B" in report
    assert "| operation | files | peak RSS MiB | MiB per 1M files |" in report
    for operation in (
        "sync_folder, no change, every file compared",
        "sync_folder, no change, the folder's last sync remembered",
        "diff of the 1% child against its parent",
        "list_files()",
        "iterate entries()",
        "dataver list (CLI, whole process)",
        "fsck of the registry",
        "cold get_local_copy",
    ):
        line = next(line for line in report.splitlines() if line.startswith(f"| {operation} |"))
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[1] == "10,000", line
        assert float(cells[2].replace(",", "")) > 0, line
