"""Every code block in the README and docs/ runs (or is checked), so none can rot.

* ```python blocks of one file run in order in one namespace (later blocks may use earlier
  names), in a temporary working directory with a private cache and registry. ``s3://`` URLs
  reach a real moto S3 server (``AWS_ENDPOINT_URL``), with every bucket a file names created.
* ```console / ```sh / ```bash blocks: their ``$ `` lines run in bash, in order, in the same
  working directory (one shell session per file, ``dataver`` on PATH); other lines are output.
* docs/cli.md is generated from the commands: each example there is parsed by the real
  command-line parser instead (its ids are placeholders).
* ```json blocks parse as JSON; ```text blocks are output.
* docs/airflow.md and docs/prefect.md (```py and their shell blocks) are run by their own
  suites: they need Airflow and Prefect, which cannot share this environment.

A block that cannot run here (an install command, a server that runs until stopped) is
preceded by ``<!-- docs-test: skip (reason) -->``; the reason is required. README blocks for
Airflow or Prefect are preceded by ``<!-- docs-test: airflow -->`` or ``<!-- docs-test:
prefect -->``: those suites run them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import boto3
import pytest

from dataver.cli.app import build_cli
from dataver.cli.params import expand_multi_value

from ..core.s3server import MotoServer

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(
    r"(?:^<!--\s*docs-test:\s*(?P<mark>[a-z]+)\s*(?:\((?P<why>[^)]*)\))?\s*-->\n)?"
    r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```\s*$",
    re.DOTALL | re.MULTILINE,
)
SHELL = {"console", "sh", "bash"}
OUTPUT = {"text", ""}
OWN_SUITE = {"airflow.md": "tests/airflow/test_docs.py", "prefect.md": "tests/prefect/test_docs.py"}
# README blocks marked <!-- docs-test: airflow --> / <!-- docs-test: prefect --> run there too.
SUITES = {"airflow": OWN_SUITE["airflow.md"], "prefect": OWN_SUITE["prefect.md"]}
BIN = Path(sys.executable).parent


class Block(NamedTuple):
    lang: str
    body: str
    skip: str | None
    where: str


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with their skip reasons."""
    found = []
    text = path.read_text()
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("body"))
        mark, why = match.group("mark"), match.group("why")
        if mark in SUITES:
            skip = f"run by {SUITES[mark]}"
        elif mark is not None and (mark != "skip" or not (why or "").strip()):
            pytest.fail(f"{path.name}:{line}: write <!-- docs-test: skip (reason) -->")
        else:
            skip = why.strip() if mark == "skip" and why else None
        found.append(Block(match.group("lang"), match.group("body"), skip, f"{path.name}:{line}"))
    return found


def _of(doc: Path, langs: set[str]) -> list[Block]:
    return [b for b in blocks(doc) if b.lang in langs and b.skip is None]


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATAVER_REGISTRY", str(tmp_path / "registry"))
    return tmp_path


def _use_s3(server: MotoServer, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3 at moto and create every bucket the text names."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "docs")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "docs")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=server.url)
    for bucket in set(re.findall(r"s3://([a-z0-9][a-z0-9.-]+)", text)):
        client.create_bucket(Bucket=bucket)


PYTHON_DOCS = [d for d in DOCS if _of(d, {"python"})]
SHELL_DOCS = [d for d in DOCS if d.name not in {"cli.md", *OWN_SUITE} and _of(d, SHELL)]


@pytest.mark.parametrize("doc", PYTHON_DOCS, ids=lambda d: d.name)
def test_python_blocks_run(
    doc: Path, sandbox: Path, s3: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    code_blocks = _of(doc, {"python"})
    _use_s3(s3, "\n".join(b.body for b in code_blocks), monkeypatch)
    namespace: dict[str, object] = {"__name__": "__doc__"}
    for block in code_blocks:
        code = compile(block.body, block.where, "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


@pytest.mark.parametrize("doc", SHELL_DOCS, ids=lambda d: d.name)
def test_shell_blocks_run(
    doc: Path, sandbox: Path, s3: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell_blocks = _of(doc, SHELL)
    _use_s3(s3, "\n".join(b.body for b in shell_blocks), monkeypatch)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for block in shell_blocks:
        for command in _commands(block.body):
            run = subprocess.run(
                ["bash", "-c", command],
                cwd=sandbox,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert run.returncode == 0, f"{block.where}: `{command}` failed:\n{run.stderr}"


def _commands(body: str) -> list[str]:
    """The ``$ `` lines of a shell block (continuation lines joined)."""
    commands: list[str] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        elif commands and commands[-1].endswith("\\"):
            commands[-1] = commands[-1][:-1] + line
    return commands


def test_cli_reference_examples_parse() -> None:
    root: Any = build_cli()
    examples = [c for b in _of(ROOT / "docs" / "cli.md", SHELL) for c in _commands(b.body)]
    assert len(examples) > 50
    for example in examples:
        words = shlex.split(example, comments=True)
        if words[0] != "dataver" or "[OPTIONS]" in words:
            continue  # the regenerate command and the synopses
        command, args = root, words[1:]
        while args and args[0] in (getattr(command, "commands", None) or {}):
            command, args = command.commands[args[0]], args[1:]
        command.make_context(words[0], expand_multi_value(args))


def test_json_blocks_parse() -> None:
    for doc in DOCS:
        for block in _of(doc, {"json"}):
            json.loads(block.body)


def test_every_block_is_covered() -> None:
    """A block of any other language would silently go untested."""
    for doc in DOCS:
        for block in blocks(doc):
            if block.lang == "py":
                marked = block.skip is not None and block.skip.startswith("run by")
                assert doc.name in OWN_SUITE or marked, f"{block.where}: ```py runs nowhere"
                continue
            known = {"python", "json"} | SHELL | OUTPUT
            assert block.lang in known or block.skip, f"{block.where}: ```{block.lang} never runs"
            if block.lang in SHELL and not block.skip and doc.name not in OWN_SUITE:
                assert _commands(block.body), f"{block.where}: no `$ ` line: nothing would run"


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:20])
    assert "make demo" in first_screen
    assert "make test" in first_screen
