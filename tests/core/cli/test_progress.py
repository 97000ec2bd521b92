"""Progress: plain periodic lines in logs, rich bars on a terminal, nothing with --quiet."""

from __future__ import annotations

import os
import pty
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from dataver.cli.progress import LogReporter

from .conftest import SCRIPT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run

BIG = 3 << 20  # hashed on threads, uploaded as an object of its own


@pytest.fixture
def big(tmp_path: Path, write_tree: Callable[..., Path]) -> Path:
    return write_tree(tmp_path / "big", {"big.bin": os.urandom(BIG), "small.txt": b"s"})


def test_log_lines_when_stderr_is_not_a_terminal(dv: Callable[..., Run], big: Path) -> None:
    every_time = {"DATAVER_PROGRESS_INTERVAL": "0"}
    synced = dv("sync", "--folder", big, "--name", "big", env=every_time).err.splitlines()
    assert "dataver: hashing 3.0 MiB of 3.0 MiB (100%), " in "\n".join(synced)
    assert any(line.startswith("dataver: hashing done: 3.0 MiB in ") for line in synced)
    assert any(line.startswith("dataver: uploading 3.0 MiB of 3.0 MiB (100%)") for line in synced)
    assert any(line.startswith("dataver: uploading done: 3.0 MiB in ") for line in synced)
    got = dv("get", env=every_time).err.splitlines()
    assert any(line.startswith("dataver: downloading done: 3.0 MiB in ") for line in got)
    # the default interval (5 s) prints only the closing line of such a short task
    (big / "more.bin").write_bytes(b"m" * (2 << 20))
    default = dv("sync", "--folder", big, "--name", "big").err.splitlines()
    hashing = [line for line in default if line.startswith("dataver: hashing")]
    assert len(hashing) == 1
    assert hashing[0].startswith("dataver: hashing done: 2.0 MiB in ")


def test_bars_when_stderr_is_a_terminal(big: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [str(SCRIPT), "sync", "--folder", str(big), "--name", "big"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        cwd=tmp_path,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, screen.decode(errors="replace")
    text = screen.decode(errors="replace")
    assert "hashing" in text
    assert "uploading" in text
    assert "━" in text  # the bar itself
    assert "dataver: hashing" not in text  # no log lines on a terminal
    assert len(out.decode().strip()) == 32  # the id stays alone on stdout


def test_quiet_draws_nothing(
    cli: Callable[..., Run], big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAVER_PROGRESS_INTERVAL", "0")
    assert cli("sync", "--folder", big, "--name", "q", "--quiet").err == ""
    # The first sync remembered the hashes; without the stat cache the files are read again.
    monkeypatch.setenv("DATAVER_STAT_CACHE", "false")
    err = cli("sync", "--folder", big, "--name", "q2").err
    assert "dataver: hashing" in err
    assert "dataver: uploading done: 3.0 MiB" in err  # already stored content counts as done


def test_log_reporter_prints_every_interval_and_at_the_end() -> None:
    lines: list[str] = []
    now = [100.0]
    reporter = LogReporter(lines.append, interval=5.0, clock=lambda: now[0], ticker=False)
    task = reporter.start("upload", 10 << 20, "B")
    reporter.advance(task, 1 << 20)
    assert lines == []
    now[0] = 105.0
    reporter.advance(task, 1 << 20)
    assert lines == ["dataver: uploading 2.0 MiB of 10 MiB (20%), 410 KiB/s"]
    now[0] = 107.0
    reporter.advance(task, 8 << 20)
    assert len(lines) == 1
    reporter.finish(task)
    assert lines[-1] == "dataver: uploading done: 10 MiB in 7.0 s (1.4 MiB/s)"

    nothing = reporter.start("hash", 0, "B")
    reporter.finish(nothing)
    unknown = reporter.start("download", None, "B")
    now[0] = 120.0
    reporter.advance(unknown, 500)
    assert lines[-1] == "dataver: downloading 500 B, 38 B/s"
    cut = reporter.start("hash", 1000, "B")
    reporter.advance(cut, 10)
    reporter.finish(cut)
    assert lines[-1] == "dataver: hashing ended at 10 B of 1000 B after 0.0 s"
    reporter.finish(unknown)
    assert lines[-1] == "dataver: downloading done: 500 B in 13.0 s (38 B/s)"
    stopped = reporter.start("upload", 4 << 20, "B")
    reporter.advance(stopped, 1 << 20)
    reporter.finish(stopped, ok=False)  # Ctrl-C or an error: never "done"
    assert lines[-1] == "dataver: uploading stopped at 1.0 MiB of 4.0 MiB after 0.0 s"
    assert len(lines) == 6
    reporter.close()


def test_log_reporter_speaks_up_without_advances() -> None:
    lines: list[str] = []
    reporter = LogReporter(lines.append, interval=0.05)
    task = reporter.start("hash", 50_000_000_000, "B")  # one huge file: no advance for long
    deadline = time.monotonic() + 10
    while len(lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    reporter.finish(task)
    reporter.close()
    assert lines[0].startswith("dataver: hashing 0 B of 47 GiB (0%), ")
    assert len(lines) >= 3
    assert lines[-1].startswith("dataver: hashing ended at 0 B of 47 GiB after ")
