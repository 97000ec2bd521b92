"""Help and documentation: every command has help with an example and documented JSON,
``dataver --help`` groups the commands, and docs/cli.md is generated from the definitions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataver.cli import build_cli
from dataver.cli.app import PANELS
from dataver.cli.docs import COMMAND, render, replace_generated
from dataver.cli.schema import SHAPES, VERSION

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .conftest import Run

ROOT = Path(__file__).resolve().parents[3]
CLI_MD = ROOT / "docs" / "cli.md"
ALL = {
    "create", "add", "remove", "sync", "upload", "close", "finalize", "publish", "abort",
    "partition",
    "list", "search", "ls", "show", "get", "verify", "diff", "lineage", "ui",
    "squash", "delete", "rename", "move", "gc", "fsck", "cache info", "cache prune",
    "metadata get", "metadata set", "metadata unset", "tag add", "tag remove",
}  # fmt: skip


def _leaves(command: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, child in command.commands.items():
        if getattr(child, "commands", None) is None:
            yield f"{prefix}{name}", child
        else:
            yield from _leaves(child, f"{prefix}{name} ")


def test_docs_cli_md_is_generated_from_the_commands() -> None:
    document = CLI_MD.read_text()
    assert replace_generated(document, render()) == document, (
        f"docs/cli.md is stale: run `.venv/core/bin/{COMMAND}`"
    )
    assert "```python" not in document  # tests/docs would run it


def test_every_command_has_help_an_example_and_documented_json() -> None:
    leaves = dict(_leaves(build_cli()))
    assert set(leaves) == ALL
    assert set(SHAPES) == ALL
    for path, command in leaves.items():
        assert command.help, path
        assert f"$ dataver {path}" in command.epilog, f"{path} has no example"
        names = {p.name for p in command.params}
        assert {"json", "quiet", "verbose", "registry"} <= names, path


def test_version_object_is_documented(cli: Callable[..., Run]) -> None:
    created = cli("create", "--name", "x", "--json").json()
    assert set(created) == set(VERSION)
    assert set(created["stats"]) == {
        "files",
        "logical_bytes",
        "stored_bytes",
        "added",
        "modified",
        "removed",
        "renamed",
        "links",
    }


def test_help_lists_commands_grouped(dv: Callable[..., Run]) -> None:
    text = dv("--help", env={"COLUMNS": "120"}).out
    starts = [text.index(panel) for panel in PANELS]
    assert starts == sorted(starts)
    for command, panel in [
        ("create", 0),
        ("sync", 0),
        ("get", 1),
        ("lineage", 1),
        ("ui", 1),
        ("gc", 2),
    ]:
        at = text.index(f" {command} ")
        assert starts[panel] < at, command
        assert panel == len(PANELS) - 1 or at < starts[panel + 1], command
    assert "Global options" in text


def test_every_command_help_shows_examples(cli: Callable[..., Run]) -> None:
    for path in sorted(ALL):
        text = cli(*path.split(), "--help").out
        assert "Examples" in text, path
        assert "--json" in text, path


def test_help_does_not_import_the_json_models() -> None:
    """Commands import dataver.cli.schema only to print JSON: --help (and every command without
    --json) does not pay for building its models."""
    code = (
        "import contextlib, io, sys\n"
        "from dataver.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(sorted(m for m in sys.modules if m in {'dataver.cli.schema', 'boto3'}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.strip() == "[]", run.stdout
