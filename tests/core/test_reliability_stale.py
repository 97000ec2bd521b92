"""Stale writers across processes, on a local folder and on S3.

A writer process creates a version, adds files and then stalls — no heartbeat, as in a long
GC pause, a suspended VM or a lost network — past its lease. Another process sees the
version as stale and either aborts it (``fsck --repair``) or takes it over and finishes it.
When the stalled writer comes back, its finalize is refused with a clear ``ConflictError``
(compare-and-swap on the record), and the registry stays consistent.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import State

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    Spawn = Callable[..., subprocess.Popen[str]]

LEASE = 0.5


def _wait_stale(registry: dataver.Registry, version_id: str) -> dataver.Dataset:
    deadline = time.monotonic() + 30
    while True:
        seen = registry.get(version_id, states=None)
        if seen.is_stale or time.monotonic() > deadline:
            return seen
        time.sleep(LEASE / 4)


def _come_back(proc: subprocess.Popen[str]) -> dict:
    assert proc.stdin is not None
    out, err = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("takeover", ["abort", "resume"])
def test_a_stalled_writer_cannot_finalize_after_its_lease_was_taken(
    any_registry: dataver.Registry,
    spawn_worker: Spawn,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    takeover: str,
) -> None:
    monkeypatch.setenv("DATAVER_LEASE_SECONDS", str(LEASE))
    mine = write_tree(tmp_path / "mine", {"a.txt": b"from the stalled writer"})
    theirs = write_tree(tmp_path / "theirs", {"b.txt": b"from the one that took over"})
    proc = spawn_worker("stall", any_registry.url, "stale", str(mine))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    version_id = json.loads(line)["id"]

    registry = dataver.Registry(any_registry.url)
    seen = _wait_stale(registry, version_id)
    assert (seen.state, seen.is_stale) == (State.UPLOADING, True)
    assert [p.kind for p in registry.fsck().problems] == ["stale-version"]
    if takeover == "abort":
        repaired = registry.fsck(repair=True)
        assert [p.kind for p in repaired.repaired] == ["stale-version"]
        expected_state, taken_as = State.ABORTED, "became aborted"
    else:
        seen.add_files(theirs)  # every change renews the lease: it is live again
        assert registry.get(version_id, states=None).is_stale is False
        seen.finalize(auto_upload=True)
        expected_state, taken_as = State.FINAL, "became final"

    back = _come_back(proc)
    assert back["outcome"] == "ConflictError", back
    assert taken_as in back["message"]
    assert "reload() it and retry" in back["message"]  # says what to do
    final = registry.get(version_id, states=None)
    assert final.state is expected_state
    if expected_state is State.FINAL:
        assert read_tree(final.get_local_copy()) == {
            "a.txt": b"from the stalled writer",
            "b.txt": b"from the one that took over",
        }
    # The writer's late upload may have left a journal behind; repair clears it, nothing else.
    cleaned = registry.fsck(repair=True, grace_seconds=0)
    assert cleaned.ok, cleaned.problems
    assert {p.kind for p in cleaned.repaired} <= {"leftover-journal"}
    assert registry.get(version_id, states=None).state is expected_state
