"""Cold get of 100,000 small files against ``cp -r`` (issue 24), code versions side by side.

``python -m benchmarks.coldget WORK ROUNDS NAME=SRC [NAME=SRC ...] [--keep]`` builds (once, in
``WORK``) a tree of 100,000 seeded random files of 256 B to 64 KiB (log-skewed: ``256 * 256 **
(u ** 3)``, 4.6 KiB on average) in 10 folders of 100 folders of 100 files, and a local registry
holding it as one version. Then, per round: the registry's files are read into the page cache,
``cp -r`` of the tree is timed, then each code version (``SRC``: a ``core/src`` folder, e.g. an
exported older commit) gets the version into a new empty cache folder in a new process
(:mod:`benchmarks.worker`), in an order rotated every round. Nothing is deleted during the run
(a deletion slows ext4's inode allocation for minutes, see :mod:`benchmarks.scenarios`);
everything the run wrote is deleted at its end (each round writes ~0.8 GB per code version and
per ``cp -r``), unless ``--keep`` is given: then the run's folder is printed, to be deleted
later, so that a next run does not start on a disk still slowed by this one's deletions.

Printed per code version: the median over rounds of its get time ÷ ``cp -r``'s wall time of
the same round, of its time ÷ the first code version's, of its CPU time (user + system, from
``/usr/bin/time``, interpreter start included) and user time alone: on a loaded machine the
CPU times are the robust numbers, and system time swings with other processes' deletions.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

_FOLDERS, _SUBFOLDERS, _FILES = 10, 100, 100


def make_tree(work: Path) -> str:
    """The tree and its version in ``work`` (built on the first call): the version id."""
    tree, ids = work / "tree", work / "id"
    if ids.exists():
        return ids.read_text()
    rng = random.Random(24)  # noqa: S311 -- test data, seeded
    for a in range(_FOLDERS):
        for b in range(_SUBFOLDERS):
            folder = tree / f"d{a}" / f"e{b:02d}"
            folder.mkdir(parents=True)
            for c in range(_FILES):
                size = int(256 * 256 ** (rng.random() ** 3))
                (folder / f"f{c:02d}.bin").write_bytes(rng.randbytes(size))
    import dataver

    ds = dataver.Registry(str(work / "registry")).create("cold100k")
    ds.add_files(str(tree))
    ds.upload()
    ds.finalize()
    ids.write_text(ds.id)
    return ds.id


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[str, list[float]]:
    """stdout, and [wall, user + system, user, peak RSS KiB] of ``command``."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %U %S %M", *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall, user, system, rss = map(float, done.stderr.rsplit("TIME ", 1)[1].split())
    return done.stdout, [wall, user + system, user, rss]


def _read_all(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def run(
    work: Path, rounds: int, versions: list[tuple[str, str]], keep: bool = False
) -> dict[str, list[list[float]]]:
    """Alternating rounds; per name, per round: [get seconds, wall, CPU, user, RSS]."""
    version = make_tree(work)
    out = work / f"out-{uuid.uuid4().hex[:6]}"
    rows: dict[str, list[list[float]]] = {"cp": [], **{name: [] for name, _ in versions}}
    out.mkdir()
    try:
        _timed(["cp", "-r", str(work / "tree"), str(out / "warm-up")])
        for index in range(rounds):
            _read_all(work / "registry")
            _, measured = _timed(["cp", "-r", str(work / "tree"), str(out / f"cp{index}")])
            rows["cp"].append([measured[0], *measured])
            turn = index % len(versions)
            for name, src in versions[turn:] + versions[:turn]:
                cache = str(out / f"{name}{index}")
                env = dict(os.environ, PYTHONPATH=f"{src}:{Path.cwd()}", DATAVER_CACHE_DIR=cache)
                spec = {"op": "get", "registry": str(work / "registry"), "id": version}
                stdout, measured = _timed(
                    [sys.executable, "-m", "benchmarks.worker", json.dumps(spec)], env
                )
                seconds = json.loads(stdout.strip().splitlines()[-1])["seconds"]
                rows[name].append([seconds, *measured])
            times = "  ".join(f"{name} {rows[name][-1][0]:.2f} s" for name in rows)
            print(f"round {index}: load {os.getloadavg()[0]:.1f}  {times}", flush=True)
    finally:
        if keep:
            print(f"kept {out}: delete it away from any measurement", flush=True)
        else:
            shutil.rmtree(out, ignore_errors=True)
    return rows


def report(rows: dict[str, list[list[float]]], first: str) -> None:
    """Print the medians described in the module's docstring."""
    for name, measured in rows.items():
        per_cp = [m[0] / cp[1] for m, cp in zip(measured, rows["cp"], strict=True)]
        per_first = [m[0] / f[0] for m, f in zip(measured, rows[first], strict=True)]

        def median(column: int, values: list[list[float]] = measured) -> float:
            return statistics.median(v[column] for v in values)

        print(
            f"{name:10s} get/cp {statistics.median(per_cp):.2f}x  get/{first} "
            f"{statistics.median(per_first):.3f}x  get {median(0):.2f} s  CPU {median(2):.2f} s"
            f"  user {median(3):.2f} s  peak RSS {median(4) / 1024:.0f} MiB"
        )


def main(argv: list[str]) -> int:
    keep = "--keep" in argv
    args = [a for a in argv if a != "--keep"]
    work, rounds = Path(args[1]), int(args[2])
    versions = [(name, src) for name, _, src in (a.partition("=") for a in args[3:])]
    report(run(work, rounds, versions, keep), versions[0][0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
