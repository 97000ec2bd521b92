"""Target verdicts of the benchmark report, from hand-made rows (no benchmark is run)."""

from __future__ import annotations

import pytest
from benchmarks.report import TARGETS, Target, render
from benchmarks.timing import ScenarioResult


def _get_result(rebuild_seconds: float, warm_seconds: float) -> dict[str, ScenarioResult]:
    result = ScenarioResult("get", "get_local_copy")
    result.row("rebuilt_small", "rebuilt", files=10_000).add(rebuild_seconds)
    result.row("warm_small", "warm").add(warm_seconds)
    return {"get": result}


def _target(title: str) -> Target:
    return next(t for t in TARGETS if t.title == title)


@pytest.mark.parametrize(("seconds", "verdict"), [(0.4, "PASS"), (0.5, "PASS"), (0.6, "FAIL")])
def test_tree_from_cached_blobs_is_judged_in_files_per_second(seconds: float, verdict: str) -> None:
    target = _target("Tree from cached blobs at >= 20,000 files/s")
    value, got = target.evaluate(_get_result(seconds, 0.001))
    assert value == pytest.approx(10_000 / seconds)
    assert got == verdict


@pytest.mark.parametrize(("seconds", "verdict"), [(0.0004, "PASS"), (0.05, "FAIL")])
def test_warm_get_is_judged_in_seconds(seconds: float, verdict: str) -> None:
    target = _target("Warm get of 10,000 files: marker check only, well under 50 ms")
    assert target.evaluate(_get_result(0.3, seconds)) == (seconds, verdict)


def test_issue_3_targets_have_their_own_table() -> None:
    text = render(["# header"], _get_result(0.25, 0.0004), indicative=False)
    issue2, issue3 = text.split("## Targets (issue 2, Speed)")[1].split(
        "## Targets (issue 3, local cache)"
    )
    assert "Cold get_local_copy, small files" in issue2
    assert (
        "| Tree from cached blobs at >= 20,000 files/s | 40,000 files/s | 40,000 files/s "
        "| small files / rebuild seconds | >= 20,000 files/s | PASS |"
    ) in issue3
    assert "| 0.00040 s |" in issue3
    assert "not run" not in issue3
