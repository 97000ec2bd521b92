"""Checks of option values made before any work starts: a bad value is a usage error (exit 2).

Also the expansion of multi-value options: ``--files a b c`` means ``--files a --files b
--files c``, as in ``clearml-data``.
"""

import json
import re
from typing import Any

import typer

from dataver.errors import ValidationError

# Options that take one or more values after one flag.
MULTI_VALUE = frozenset(
    {
        "--files",
        "-f",
        "--wildcard",
        "--links",
        "--parents",
        "--tags",
        "--ids",
        "--filter",
        "--states",
    }
)


def expand_multi_value(args: list[str]) -> list[str]:
    """Repeat a multi-value flag before each value: ``--files a b`` -> ``--files a --files b``.

    The first value after the flag is taken whatever it looks like; the next ones up to the
    first argument starting with ``-`` (``--`` ends option parsing altogether).
    """
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        out.append(arg)
        i += 1
        if arg not in MULTI_VALUE or i >= len(args):
            continue
        out.append(args[i])
        i += 1
        while i < len(args) and not args[i].startswith("-"):
            out.extend((arg, args[i]))
            i += 1
    return out


def glob_list(value: list[str] | None) -> list[str] | None:
    """Check dataset globs (``*``, ``?``, ``[...]``, ``**``); empty or malformed ones fail."""
    for pattern in value or []:
        try:
            from dataver.paths import PathMatcher

            PathMatcher(pattern)
        except ValidationError as exc:
            raise typer.BadParameter(str(exc)) from exc
    return value


def regex(value: str | None) -> str | None:
    """Check a regular expression."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise typer.BadParameter(f"bad regular expression {value!r}: {exc}") from exc
    return value


def byte_size(value: str | None) -> str | None:
    """Check a size such as ``50GB``, ``1.5GiB`` or ``1000`` (bytes)."""
    if value is not None:
        try:
            from dataver.cache.local import parse_size

            parse_size(value)
        except ValidationError as exc:
            raise typer.BadParameter(str(exc)) from exc
    return value


def json_or_text(value: str) -> Any:
    """``value`` as JSON if it parses (``3``, ``true``, ``[1, 2]``, ``"x"``), else as text."""
    try:
        return json.loads(value)
    except ValueError:
        return value
