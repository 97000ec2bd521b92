"""Issue 24's real-data scenarios run end to end (``--quick``: a few thousand files, no peers,
one run), all three selected by ``--only realdata``.

Speed is never asserted here: this only proves the scenarios cannot rot. The site-packages
scenario installs two pinned states of a few small packages with uv (from its cache or PyPI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .quick import run_quick

if TYPE_CHECKING:
    from pathlib import Path


def test_quick_realdata_scenarios_write_their_tables(tmp_path: Path) -> None:
    report = run_quick(tmp_path, "--only", "realdata", timeout=300)
    assert not (tmp_path / "work" / "data-quick" / "small").exists()  # they find their data
    for title in (
        "## Real data: the standard libraries of ",
        "## Real data: a site-packages upgraded by `uv pip install`, 2 states",
        "## Real data: 1,000 binary files of /usr/lib",
        "## Small files",
    ):
        assert (title in report) is (title != "## Small files"), title
    for row in (
        "v1: dataver, whole process",
        "v2: dataver, in process",
        "full: dataver, whole process",
        "child: dataver, in process",
        "total: dataver, whole processes",
    ):
        assert f"| {row} |" in report, row
    assert "| step | files | MiB | dataver, whole process s |" in report
    assert "| child: 1% child (10 files edited in place) | 1,000 |" in report
    assert "| v2: requests==2.32.3 urllib3==2.2.3 idna==3.10 certifi==2024.8.30 |" in report
    assert report.count("DVC not run (--no-peers or not installed).") == 3
