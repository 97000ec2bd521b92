"""Running commands with their wall time and peak RSS; summarising repeated samples."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class CommandError(RuntimeError):
    """A measured command exited with a non-zero status."""


@dataclass(frozen=True)
class ProcResult:
    """One finished command: wall seconds, peak RSS (KiB), stdout."""

    wall: float
    peak_rss_kib: int
    stdout: str


def run(
    cmd: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> ProcResult:
    """Run ``cmd`` to completion; raise :class:`CommandError` if it fails.

    Peak RSS: Linux carries a process's peak over ``execve``, so a child forked from this
    (large) orchestrator would report at least the orchestrator's size. GNU ``time``, small
    itself, runs the command and reports its true peak (the maximum over the command and the
    descendants it waited for, e.g. ``xargs`` and its ``sha256sum`` children). Without GNU
    ``time``, ``wait4``'s figure is used: only meaningful above the orchestrator's own RSS.
    """
    argv = [str(c) for c in cmd]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(suffix=".rss") as rss,
    ):
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else argv
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        if proc.returncode != 0:
            tail = err.read().decode(errors="replace")[-3000:]
            raise CommandError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
        peak = _reported_rss(Path(rss.name)) if GNU_TIME else None
    return ProcResult(wall, peak if peak is not None else usage.ru_maxrss, stdout)


def _find_gnu_time() -> str | None:
    path = "/usr/bin/time"  # the shell keyword `time` cannot run a command this way
    return path if os.access(path, os.X_OK) else None


def _reported_rss(path: Path) -> int | None:
    lines = path.read_text().split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else None


GNU_TIME = _find_gnu_time()


def settle(*warm: Path) -> None:
    """Prepare a measurement: flush dirty pages, then read ``warm`` trees into the page cache.

    Flushing keeps one measurement from paying for the previous one's writes. Reading the
    inputs right before each measurement puts every tool on the same footing: on a machine
    that reclaims idle page cache (this one runs DAMON-based reclaim), inputs written minutes
    ago may otherwise come from disk for one tool and from memory for the next.
    """
    os.sync()
    for tree in warm:
        _read_tree(tree)


def _read_tree(tree: Path) -> None:
    for folder, _, files in os.walk(tree):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                while handle.read(_READ_CHUNK):
                    pass


_READ_CHUNK = 4 << 20


@dataclass(frozen=True)
class Sample:
    """One measurement: seconds, and the peak RSS of the measured process if known."""

    seconds: float
    peak_rss_kib: int | None = None


@dataclass
class Row:
    """Repeated samples of one thing measured, e.g. ``dataver`` in the small-files scenario.

    ``unit``: "s" for times (the default); anything else (e.g. "MiB" of stored bytes, or
    "objects") makes it a row of the scenario's second table, whose samples are that unit.
    ``versus``: the key of another row of the same unit that table compares it with.
    """

    key: str
    label: str
    note: str = ""
    samples: list[Sample] = field(default_factory=list)
    files: int | None = None  # files each sample handled, for a files-per-second target
    unit: str = "s"
    versus: str | None = None

    def add(self, seconds: float, peak_rss_kib: int | None = None) -> None:
        self.samples.append(Sample(seconds, peak_rss_kib))

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def minimum(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def maximum(self) -> float:
        return max(s.seconds for s in self.samples)

    @property
    def peak_rss_mib(self) -> float | None:
        known = [s.peak_rss_kib for s in self.samples if s.peak_rss_kib is not None]
        return max(known) / 1024 if known else None


@dataclass
class ScenarioResult:
    """The rows of one scenario, in the order they were first measured.

    ``reference`` names the row every other row's median is compared with (None: no column).
    """

    name: str
    title: str
    reference: str | None = None
    rows: dict[str, Row] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # markdown after the tables (e.g. a matrix)

    def row(self, key: str, label: str, note: str = "", *, files: int | None = None) -> Row:
        """Return the row ``key``, creating it on first use (``files``: see :class:`Row`)."""
        if key not in self.rows:
            self.rows[key] = Row(key, label, note, files=files)
        return self.rows[key]

    def amount(self, key: str, label: str, unit: str, versus: str | None = None) -> Row:
        """Return the row ``key`` of the second table (not seconds: ``unit``), as :meth:`row`."""
        if key not in self.rows:
            self.rows[key] = Row(key, label, unit=unit, versus=versus)
        return self.rows[key]
