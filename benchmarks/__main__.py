"""``python -m benchmarks``: dataver side by side with DVC and plain copies, as ratios.

The ``s3`` scenario does the same against a moto S3 server it starts (see benchmarks/s3.py).

Generates seeded data under ``benchmarks/.work/`` (once), installs DVC into its own virtual
environment there (once), runs every scenario ``--runs`` times from fresh state, prints one
table per scenario and the issue's targets, and writes the same markdown to
``benchmarks/results/<YYYY-MM-DD>.md``.

Examples::

    python -m benchmarks                       # everything, 3 runs each
    python -m benchmarks --only small --only child --runs 5
    python -m benchmarks --quick --no-peers    # smoke test: small sizes, 1 run, no DVC

The workers import ``dataver`` like any process in this environment, so ``PYTHONPATH`` can point
them at a fixed copy of the code while ``core/`` is being edited, e.g.
``git archive HEAD core/src | tar -x -C /tmp/snap`` then ``PYTHONPATH=/tmp/snap/core/src``.
The report names the source folder and warns if that source changed during the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.chunked import CHUNK_TREES
from benchmarks.config import DEFAULT_WORK, FULL, QUICK, RESULTS_DIR
from benchmarks.datagen import ensure_data
from benchmarks.environment import (
    RunInfo,
    bytecode_env,
    dataver_source,
    describe,
    git_commit,
    source_fingerprint,
)
from benchmarks.memory import MEMORY_TREES
from benchmarks.peers import ensure_dvc, hash_tools
from benchmarks.realdata import REAL_TREES
from benchmarks.report import render, verdicts
from benchmarks.scenarios import GROUPS, SCENARIOS, Context
from benchmarks.startup import STARTUP_TREES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.datagen import Data
    from benchmarks.timing import ScenarioResult


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark dataver against DVC, cp -r, hashing and boto3 floors.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and 1 run: a smoke test")
    parser.add_argument(
        "--only",
        action="append",
        choices=[*SCENARIOS, *GROUPS],
        metavar="SCENARIO",
        help=f"run only this scenario or group (repeatable): {', '.join([*SCENARIOS, *GROUPS])}",
    )
    parser.add_argument(
        "--runs", type=_positive, help="runs per measurement (default 3; 1 with --quick)"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip DVC (floors still run)")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK,
        help=f"scratch space (default {DEFAULT_WORK})",
    )
    parser.add_argument(
        "--pause",
        type=float,
        help="seconds to wait after deleting run folders, before the next scenario "
        "(default 65; 0 with --quick)",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line for the report's header, e.g. which commit a PYTHONPATH copy holds "
        "(repeatable)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="markdown results file (default benchmarks/results/<date>.md; "
        "with --quick <work-dir>/results-quick.md)",
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = QUICK if args.quick else FULL
    work: Path = args.work_dir.absolute()
    # NOTE: every process a scenario starts (dataver and its peers) inherits this.
    env = bytecode_env(work / "pycache")
    os.environ.clear()
    os.environ.update(env)
    started = time.perf_counter()
    source = dataver_source()
    fingerprint, commit = source_fingerprint(source), git_commit()
    names = _expand(args.only) if args.only else list(SCENARIOS)
    data = ensure_data(work / f"data-{sizes.label}", sizes, log, _trees(names))
    dvc = None if args.no_peers else ensure_dvc(work, log)
    info = RunInfo(
        sizes=sizes,
        runs=args.runs or (1 if args.quick else 3),
        pause=args.pause if args.pause is not None else (0.0 if args.quick else 65.0),
        dvc=dvc,
        peers=not args.no_peers,
        hashers=hash_tools(),
        work=work,
        source=source,
        fingerprint=fingerprint,
        commit=commit,
        notes=tuple(args.note),
    )
    results = run_scenarios(info, data, names)
    text = render(describe(info, time.perf_counter() - started), results, indicative=args.quick)
    print(text)
    output = args.output or _default_output(work, quick=args.quick)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    log(f"written {output}")
    for title, verdict in verdicts(results):
        if verdict == "FAIL":
            log(f"FAIL: {title}")
    return 0


def run_scenarios(info: RunInfo, data: Data, names: list[str]) -> dict[str, ScenarioResult]:
    """Run ``names`` in order; delete run folders (and pause) between scenarios."""
    ctx = Context(
        info.work,
        data,
        info.sizes,
        info.runs,
        info.dvc,
        info.hashers,
        log,
        info.pause,
        info.peers,
    )
    ctx.clear_runs(pause=True)
    results: dict[str, ScenarioResult] = {}
    for position, name in enumerate(names):
        results[name] = SCENARIOS[name](ctx)
        ctx.clear_runs(pause=position + 1 < len(names))
    return results


def _expand(only: list[str]) -> list[str]:
    """The scenarios ``--only`` named, groups replaced by their scenarios, each once."""
    names = [name for item in only for name in GROUPS.get(item, (item,))]
    return list(dict.fromkeys(names))


def _trees(names: list[str]) -> set[str] | None:
    """The generated trees the scenarios ``names`` need: None (all of them) unless every one
    is a scenario that says which it needs (benchmarks/chunked.py, benchmarks/memory.py,
    benchmarks/realdata.py, benchmarks/startup.py)."""
    own = {**CHUNK_TREES, **MEMORY_TREES, **REAL_TREES, **STARTUP_TREES}
    if any(name not in own for name in names):
        return None
    return {tree for name in names for tree in own[name]}


def _default_output(work: Path, *, quick: bool) -> Path:
    if quick:
        return work / "results-quick.md"
    return RESULTS_DIR / f"{dt.date.today().isoformat()}.md"


if __name__ == "__main__":
    sys.exit(main())
