"""Progress of hashing, uploads and downloads: rich bars in a terminal, log lines elsewhere.

The core reports tasks (``hash``, ``upload``, ``download``, in bytes) through
:mod:`dataver.progress`; this module draws them. On a terminal (stderr is a TTY) each task
is a rich progress bar. Anywhere else (CI, Airflow and Prefect task logs, a redirected
stderr) each task prints a plain line every ``DATAVER_PROGRESS_INTERVAL`` seconds (default 5)
and one when it ends. ``--quiet`` draws nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from dataver import progress
from dataver.cli.errors import CliError
from dataver.cli.output import is_terminal, size

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console
    from rich.progress import ProgressColumn, Task, TaskID

    from dataver.cli.base import Options

INTERVAL_VARIABLE = "DATAVER_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 5.0
LABELS = {"hash": "hashing", "upload": "uploading", "download": "downloading"}


@dataclass
class _Task:
    name: str
    total: int | None
    started: float
    last_line: float
    done: int = 0


class LogReporter:
    """Plain progress lines: every ``interval`` seconds per task, and one when it ends.

    A line is due on the first advance after ``interval`` seconds, and a ticker thread prints
    due lines even when no advance comes (one large file hashes in one step): a long task is
    never silent for longer than ``interval``. Tasks with nothing to do print nothing. Call
    :meth:`close` at the end.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        *,
        ticker: bool = True,
    ) -> None:
        self._write = write
        self._use_ticker = ticker
        self._interval = interval
        self._clock = clock
        self._tasks: dict[int, _Task] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self, name: str, total: int | None, unit: str) -> int:
        del unit
        with self._lock:
            self._next += 1
            now = self._clock()
            self._tasks[self._next] = _Task(name, total, now, now)
            if self._ticker is None and self._use_ticker and self._interval > 0:
                self._ticker = threading.Thread(
                    target=self._tick, name="dataver-progress", daemon=True
                )
                self._ticker.start()
            return self._next

    def close(self) -> None:
        """Stop the ticker thread."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                now = self._clock()
                due = [t for t in self._tasks.values() if now - t.last_line >= self._interval]
                for task in due:
                    task.last_line = now
                lines = [self._running(t, now) for t in due]
            for line in lines:
                self._write(line)

    def advance(self, task: int, amount: int) -> None:
        with self._lock:
            current = self._tasks.get(task)
            if current is None:
                return
            current.done += amount
            now = self._clock()
            if now - current.last_line < self._interval:
                return
            current.last_line = now
            line = self._running(current, now)
        self._write(line)

    def finish(self, task: int, ok: bool = True) -> None:
        with self._lock:
            current = self._tasks.pop(task, None)
        if current is None or not (current.total or current.done):
            return
        elapsed = max(self._clock() - current.started, 1e-9)
        what = LABELS.get(current.name, current.name)
        if not ok:
            of = f" of {size(current.total)}" if current.total is not None else ""
            self._write(
                f"dataver: {what} stopped at {size(current.done)}{of} after {elapsed:.1f} s"
            )
            return
        if current.total is not None and current.done < current.total:
            self._write(
                f"dataver: {what} ended at {size(current.done)} of {size(current.total)} "
                f"after {elapsed:.1f} s"
            )
            return
        self._write(
            f"dataver: {what} done: {size(current.done)} in {elapsed:.1f} s "
            f"({size(int(current.done / elapsed))}/s)"
        )

    @staticmethod
    def _running(task: _Task, now: float) -> str:
        elapsed = max(now - task.started, 1e-9)
        of = ""
        if task.total:
            of = f" of {size(task.total)} ({100 * task.done // task.total}%)"
        return (
            f"dataver: {LABELS.get(task.name, task.name)} {size(task.done)}{of}, "
            f"{size(int(task.done / elapsed))}/s"
        )


class BarReporter:
    """Rich progress bars on stderr; the display starts with the first task."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            *_byte_columns(),
            TimeRemainingColumn(),
            console=console,
        )
        self._started = False
        self._lock = threading.Lock()
        self._hidden: set[int] = set()

    def start(self, name: str, total: int | None, unit: str) -> int:
        del unit
        with self._lock:
            if not self._started:
                self._progress.start()
                self._started = True
            task = self._progress.add_task(LABELS.get(name, name), total=total, visible=total != 0)
            return int(task)

    def advance(self, task: int, amount: int) -> None:
        self._progress.advance(cast("TaskID", task), amount)

    def finish(self, task: int, ok: bool = True) -> None:
        found = next((t for t in self._progress.tasks if t.id == task), None)
        if found is None:
            return
        if not ok:
            # NOTE: an interrupted or failed task keeps the bar where it stopped, and says so.
            self._progress.update(found.id, description=f"{found.description} (stopped)")
        elif found.total is not None:
            self._progress.update(found.id, completed=found.total)
        self._progress.stop_task(found.id)

    def close(self) -> None:
        with self._lock:
            if self._started:
                self._progress.stop()
                self._started = False


def _byte_columns() -> tuple[ProgressColumn, ProgressColumn]:
    """Bytes done of the total, and the speed, in the units of :func:`output.size` (rich's own
    columns print decimal units: kB, MB)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Done(ProgressColumn):
        def render(self, task: Task) -> Text:
            total = "?" if task.total is None else size(int(task.total))
            return Text(f"{size(int(task.completed))}/{total}", style="progress.download")

    class Speed(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            shown = "?" if speed is None else f"{size(int(speed))}/s"
            return Text(shown, style="progress.data.speed")

    return Done(), Speed()


def interval() -> float:
    """Seconds between two log lines of one task (``DATAVER_PROGRESS_INTERVAL``)."""
    raw = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise CliError(
            f"invalid {INTERVAL_VARIABLE}={raw!r}: not a number of seconds",
            hint=f"set {INTERVAL_VARIABLE} to e.g. 5 or unset it",
        )
    return seconds


def _write_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@contextlib.contextmanager
def shown(opts: Options) -> Iterator[None]:
    """Draw the progress of the core's work inside the block, as ``opts`` and stderr allow."""
    if opts.quiet:
        yield
        return
    if not is_terminal(sys.stderr):
        lines = LogReporter(_write_stderr, interval())
        try:
            with progress.reporting(lines):
                yield
        finally:
            lines.close()
        return
    from rich.console import Console

    bars = BarReporter(Console(file=sys.stderr))
    try:
        with progress.reporting(bars):
            yield
    finally:
        bars.close()
