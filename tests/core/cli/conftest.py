"""Fixtures of the CLI tests: ``dv`` runs the real installed ``dataver`` console script in a
subprocess; ``cli`` runs the same entry point (``dataver.cli.main``) in this process.

The flow and the error paths go through ``dv``: they prove what a user's shell sees (the
script, its exit codes, its stdout and stderr). Checks of the many other details use ``cli``,
which costs milliseconds instead of an interpreter start (about half a second here).

The core suite's autouse ``isolated_env`` fixture points ``DATAVER_REGISTRY`` and
``DATAVER_CACHE_DIR`` into the test's temporary folder; subprocesses inherit it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dataver.cli import main
from dataver.cli.schema import SHAPES

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SCRIPT = Path(sys.executable).with_name("dataver")


@dataclass(frozen=True)
class Run:
    """One finished ``dataver`` process."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as one JSON document."""
        return json.loads(self.out)

    def error(self) -> str:
        """The ``error:`` line on stderr; checks the one-line error format on the way."""
        lines = self.err.splitlines()
        errors = [line for line in lines if line.startswith("error: ")]
        assert len(errors) == 1, f"want one error line, got stderr:\n{self.err}"
        assert "Traceback" not in self.err, self.err
        assert lines[-1].startswith("hint: "), f"want a hint after the error:\n{self.err}"
        return errors[0]

    def hint(self) -> str:
        """The ``hint:`` line on stderr."""
        return self.err.splitlines()[-1]


def _script() -> str:
    found = SCRIPT if SCRIPT.exists() else shutil.which("dataver")
    if not found:
        pytest.fail(
            "the dataver console script is not installed next to the interpreter: "
            "reinstall core (make venv-core)"
        )
    return str(found)


def run_dataver(
    *args: str | os.PathLike[str],
    code: int | None = 0,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Run:
    """Run the console script to completion; check its exit code unless ``code`` is None."""
    argv = [os.fspath(a) for a in args]
    proc = subprocess.run(
        [_script(), *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
        **kwargs,
    )
    result = Run(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if code is not None:
        assert proc.returncode == code, (
            f"dataver {' '.join(argv)} exited {proc.returncode}, want {code}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return result


@pytest.fixture
def dv(tmp_path: Path) -> Callable[..., Run]:
    """``dv(*args, code=0, env=None)``: run ``dataver`` in the test's folder."""

    def run(*args: str | os.PathLike[str], **kwargs: Any) -> Run:
        kwargs.setdefault("cwd", tmp_path)
        return run_dataver(*args, **kwargs)

    return run


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Run]:
    """``cli(*args, code=0)``: run ``dataver.cli.main(args)`` in this process, output captured."""

    def run(*args: str | os.PathLike[str], code: int | None = 0) -> Run:
        argv = [os.fspath(a) for a in args]
        monkeypatch.chdir(tmp_path)
        capsys.readouterr()
        returned = main(argv)
        out, err = capsys.readouterr()
        if code is not None:
            assert returned == code, (
                f"dataver {' '.join(argv)} returned {returned}, want {code}\n"
                f"stdout:\n{out}\nstderr:\n{err}"
            )
        return Run(tuple(argv), returned, out, err)

    return run


@pytest.fixture
def data(tmp_path: Path, write_tree: Callable[[Path, Mapping[str, bytes]], Path]) -> Path:
    """A local folder of three files (two in ``train/``)."""
    return write_tree(
        tmp_path / "data",
        {"train/a.csv": b"x,y\n1,2\n", "train/b.csv": b"x,y\n3,4\n", "README": b"hello\n"},
    )


def assert_shape(command: str, document: Any) -> None:
    """``document`` has exactly the keys docs/cli.md documents for ``command``'s --json, and
    values of the types its model (dataver.cli.schema) says."""
    shape = SHAPES[command]
    shape.validate(document)
    items = document if shape.kind in {"array", "versions"} else [document]
    assert isinstance(items, list)
    for item in items:
        keys = set(item)
        if command == "metadata get":
            assert keys in ({"id", "metadata"}, {"id", "key", "value"}), keys
        else:
            assert keys == shape.key_names(), f"{command}: {sorted(keys)}"


@pytest.fixture
def shape() -> Callable[[str, Any], None]:
    """``shape(command, json_document)``: check the documented JSON keys."""
    return assert_shape
