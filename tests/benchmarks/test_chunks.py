"""Issue 22's benchmark harness: its data, peers, counting and report, in seconds.

No timing is asserted; the scenarios themselves run in test_smoke_chunks.py.
"""

from __future__ import annotations

import csv
import io
import shutil
from typing import TYPE_CHECKING

import pytest
from benchmarks.backup import find_tools
from benchmarks.chunkdata import (
    CSV_HEADER,
    Daily,
    append_rows,
    count_rows,
    ensure_file,
    rewrite_rows,
    tree_bytes,
    write_csv,
    write_inserted,
    write_overwritten,
    write_random,
)
from benchmarks.chunked import chunk_env
from benchmarks.config import FULL, KIB, MIB, QUICK
from benchmarks.report import TARGETS, Target, render
from benchmarks.timing import ScenarioResult
from benchmarks.worker import count_io

if TYPE_CHECKING:
    from pathlib import Path


def _target(title: str) -> Target:
    return next(t for t in TARGETS if t.title == title)


# ------------------------------------------------------------------------------------ data


def test_random_edits_change_only_what_they_say(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    write_random(parent, 3 * MIB + 5, seed=1)
    again = tmp_path / "again"
    write_random(again, 3 * MIB + 5, seed=1)
    assert parent.read_bytes() == again.read_bytes()  # seeded
    over, ins = tmp_path / "over", tmp_path / "ins"
    write_overwritten(over, parent, MIB, 64 * KIB, seed=2)
    write_inserted(ins, parent, 64 * KIB, seed=3)
    old, new = parent.read_bytes(), over.read_bytes()
    assert len(new) == len(old)
    assert new[:MIB] == old[:MIB]
    assert new[MIB + 64 * KIB :] == old[MIB + 64 * KIB :]
    assert new[MIB : MIB + 64 * KIB] != old[MIB : MIB + 64 * KIB]
    assert ins.read_bytes()[64 * KIB :] == old
    assert len(ins.read_bytes()) == len(old) + 64 * KIB


def _rows(path: Path) -> list[list[str]]:
    text = path.read_text()
    assert text.encode().startswith(CSV_HEADER)
    return list(csv.reader(io.StringIO(text)))[1:]


def test_csv_rows_are_realistic_and_appends_continue_the_ids(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = write_csv(path, 256 * KIB, seed=5)
    assert 256 * KIB <= path.stat().st_size < 256 * KIB + 200
    parsed = _rows(path)
    assert len(parsed) == rows == count_rows(path)
    assert all(len(row) == 8 for row in parsed)
    assert [int(row[0]) for row in parsed] == list(range(rows))
    assert parsed[0][1].endswith("Z")
    assert float(parsed[0][3]) >= 0
    before = path.read_bytes()
    added = append_rows(path, 16 * KIB, seed=5)
    assert path.read_bytes().startswith(before)
    assert [int(row[0]) for row in _rows(path)] == list(range(rows + added))


def test_rewritten_rows_keep_their_ids_and_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = write_csv(path, 512 * KIB, seed=6)
    before = path.read_bytes()
    rewrite_rows(path, seed=6, day=1, count=3)
    after = path.read_bytes()
    assert after != before
    parsed = _rows(path)
    assert [int(row[0]) for row in parsed] == list(range(rows))
    old = before.splitlines()
    changed = [k for k, line in enumerate(after.splitlines()) if line != old[k]]
    assert 1 <= len(changed) <= 3
    assert all(len(old) // 4 <= k <= 3 * len(old) // 4 + 1 for k in changed)


def test_daily_days_grow_the_table_and_add_a_part(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    days = Daily(table=128 * KIB, parts=2, part=64 * KIB, small_parts=2, small=16 * KIB)
    days.apply(folder, 0)
    parts = sorted(p.name for p in (folder / "parts").iterdir())
    assert parts == [
        "part-0000.parquet",
        "part-0001.parquet",
        "small-0000.parquet",
        "small-0001.parquet",
    ]
    table, small = folder / "table.csv", folder / "parts" / "small-0000.parquet"
    size, small_bytes = table.stat().st_size, small.read_bytes()
    days.apply(folder, 1)
    grown = table.stat().st_size / size
    assert 1.015 < grown < 1.06
    assert (folder / "parts" / "part-0002.parquet").is_file()
    assert small.read_bytes() != small_bytes
    assert tree_bytes(folder) > size


def test_ensure_file_reuses_a_matching_stamp(tmp_path: Path) -> None:
    calls: list[Path] = []

    def write(path: Path) -> None:
        calls.append(path)
        path.write_bytes(b"x")

    target = tmp_path / "f.bin"
    for _ in range(2):
        ensure_file(target, {"size": 1}, write, lambda _: None)
    assert len(calls) == 1
    ensure_file(target, {"size": 2}, write, lambda _: None)
    assert len(calls) == 2


# ------------------------------------------------------------------------ settings, sizes


def test_chunk_env_turns_chunking_off_or_sets_the_sizes() -> None:
    quick = QUICK.chunks
    assert quick is not None
    assert FULL.chunks is not None
    assert chunk_env(quick) == {
        "DATAVER_CHUNK_THRESHOLD": str(quick.threshold),
        "DATAVER_CHUNK_SIZE": str(quick.chunk_size),
    }
    assert chunk_env(quick, 512 * KIB)["DATAVER_CHUNK_SIZE"] == str(512 * KIB)
    assert chunk_env(quick, off=True) == {"DATAVER_CHUNK_THRESHOLD": str(1 << 62)}
    assert chunk_env(FULL.chunks) == {}  # dataver's defaults for the full sizes
    assert quick.random_size >= 4 * (quick.threshold or 0)  # quick files are still chunked


# ------------------------------------------------------------------------ counting reads


def test_count_io_counts_the_calls_and_bytes_of_one_store(tmp_path: Path) -> None:
    from dataver.storage.local import LocalStore

    store = LocalStore(tmp_path / "reg", fsync=False)
    counts = count_io(store)
    store.write("a/b", b"12345")
    local = tmp_path / "local"
    local.write_bytes(b"x" * 100)
    store.put_file(local, "a/c")
    assert store.read_range("a/c", 10, 20) == b"x" * 20
    store.get_file("a/b", tmp_path / "out")
    assert counts["write"] == [1, 5]
    assert counts["put_file"] == [1, 100]
    assert counts["read_range"] == [1, 20]
    assert counts["get_file"] == [1, 5]
    assert "local_path" not in counts


# --------------------------------------------------------------------------------- report


def _chunks_result(a_mib: float) -> dict[str, ScenarioResult]:
    result = ScenarioResult("chunks", "Chunks")
    result.amount("a_dataver", "(a) dataver: child stored", "MiB").add(a_mib)
    result.amount("a_dvc", "(a) DVC: child stored", "MiB", "a_dataver").add(512.0)
    result.row("a_dataver_time", "(a) dataver: child build").add(1.5)
    return {"chunks": result}


@pytest.mark.parametrize(("mib", "verdict"), [(3.5, "PASS"), (4.0, "PASS"), (4.01, "FAIL")])
def test_chunk_targets_are_judged_in_mib(mib: float, verdict: str) -> None:
    target = _target(
        "Chunks (a): the child of a random file with 1 MiB overwritten in the middle stores "
        "<= 4 MiB"
    )
    assert target.evaluate(_chunks_result(mib)) == (mib, verdict)
    assert target.goal_text() == "<= 4 MiB"


def test_amount_rows_get_their_own_table() -> None:
    text = render(["# header"], _chunks_result(3.25), indicative=False)
    section = text.split("## Chunks")[1].split("## Targets")[0]
    assert "| (a) dataver: child build | 1.500 |" in section
    assert "| (a) DVC: child stored | 512.00 | 512.00 | 512.00 | MiB | 1 | 157.538 " in section
    issue22 = text.split("## Targets (issue 22, content-defined chunks)")[1]
    assert "| 3.25 MiB | 3.25 MiB | stats.stored_bytes of the child, MiB | <= 4 MiB | PASS |" in (
        issue22
    )


def test_daily_targets_compare_totals() -> None:
    result = ScenarioResult("daily", "Daily")
    result.amount("dataver", "dataver: total stored", "MiB").add(110.0)
    result.amount("dedup_best", "best", "MiB", "dataver").add(100.0)
    result.amount("dvc", "DVC", "MiB", "dataver").add(1_000.0)
    best = _target(
        "Daily versions: total stored within 1.2x of borg or restic (no compression), the "
        "better of the two"
    )
    dvc = _target("Daily versions: total stored <= 0.2x of DVC's")
    assert best.evaluate({"daily": result}) == (pytest.approx(1.1), "PASS")
    assert dvc.evaluate({"daily": result}) == (pytest.approx(0.11), "PASS")


# ---------------------------------------------------------------------------- the peers


@pytest.mark.skipif(not (shutil.which("borg") or shutil.which("restic")), reason="no borg/restic")
def test_backup_tools_store_a_folder_and_dedup_a_second_snapshot(tmp_path: Path) -> None:
    found, _ = find_tools()
    folder = tmp_path / "data"
    folder.mkdir()
    write_random(folder / "f.bin", 2 * MIB, seed=9)
    for tool in found.values():
        compression = "none" if tool.name == "borg" else "off"
        repo = tool.repo(tmp_path / tool.name, compression)
        empty = repo.size()
        repo.backup(folder)
        first = repo.size() - empty
        repo.backup(folder)
        second = repo.size() - empty - first
        assert first >= 2 * MIB
        assert second < 256 * KIB, (tool.name, second)


def test_missing_backup_tools_are_skipped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    found, missing = find_tools()
    assert found == {}
    assert [note.split()[0] for note in missing] == ["borg", "restic"]
    assert all("docs/benchmarks-chunks.md" in note for note in missing)
