"""``dataver-clearml-data`` parses every command line ``clearml-data`` parses the same way:
the real program's parser (captured from the installed ``clearml`` package) and ours are
compared verb by verb, flag by flag (option strings, nargs, default, required, type)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from clearml.cli.data import __main__ as real_cli

from dataver.clearml import cli as our_cli


class _CapturedError(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__("parser captured")
        self.parser = parser


def _real_parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser ``clearml-data`` builds, taken at its ``parse_args`` (nothing runs)."""

    def capture(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise _CapturedError(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_CapturedError) as caught:
        real_cli.cli()
    monkeypatch.undo()
    return caught.value.parser


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _flags(parser: argparse.ArgumentParser) -> dict[str, tuple[Any, ...]]:
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        kind = type(action).__name__
        typ = getattr(action.type, "__name__", action.type)
        out["/".join(action.option_strings) or action.dest] = (
            kind, action.nargs, action.default, action.required, typ, action.const,
        )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def parsers() -> tuple[dict[str, argparse.ArgumentParser], dict[str, argparse.ArgumentParser]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        real = _verbs(_real_parser(monkeypatch))
    return real, _verbs(our_cli.build_parser())


def test_the_same_verbs(parsers: Any) -> None:
    real, ours = parsers
    assert sorted(ours) == sorted(real)


def test_every_verb_takes_the_same_flags(parsers: Any) -> None:
    real, ours = parsers
    for verb, parser in real.items():
        assert _flags(parser), verb
        assert _flags(ours[verb]) == _flags(parser), verb


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "--name", "n", "--project", "p", "--parents", "a", "b", "--tags", "x", "y"],
        ["add", "--files", "a", "b", "--wildcard", "*.csv", "--dataset-folder", "d"],
        ["sync", "--folder", "f", "--skip-close", "--chunk-size", "5"],
        ["get", "--id", "i", "--part", "1", "--num-parts", "3", "--overwrite"],
        ["delete", "--project", "p", "--name", "n", "--entire-dataset", "--force"],
        ["search", "--ids", "a", "b", "--not-only-completed"],
    ],
)
def test_a_command_line_reads_the_same(
    argv: list[str], parsers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _real_parser(monkeypatch).parse_args(argv)
    ours = our_cli.build_parser().parse_args(argv)
    drop = {"func", "_handler"}
    assert {k: v for k, v in vars(ours).items() if k not in drop} == {
        k: v for k, v in vars(real).items() if k not in drop
    }
