"""Generate the command reference of ``docs/cli.md`` from the command definitions.

``python -m dataver.cli.docs`` prints the reference; ``--write docs/cli.md`` replaces the part
of the file between the ``BEGIN``/``END`` markers (the hand-written introduction above them is
kept); ``--check docs/cli.md`` exits 1 when the file is stale. A test runs the check, so the
reference cannot drift from the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataver.cli.app import PROG, build_cli
from dataver.cli.helptext import GLOBAL, PANELS, panel_of
from dataver.cli.schema import FILE, SHAPES, VERSION, Shape

if TYPE_CHECKING:
    from collections.abc import Iterator

BEGIN = "<!-- BEGIN GENERATED: python -m dataver.cli.docs --write docs/cli.md -->"
END = "<!-- END GENERATED -->"
COMMAND = "python -m dataver.cli.docs --write docs/cli.md"


def render() -> str:
    """The generated reference (markdown), markers excluded."""
    root = build_cli()
    ctx = _context(root, PROG, None)
    commands = list(_commands(root, ctx))
    parts = [
        "## Command reference",
        "",
        "_Generated from the command definitions by `python -m dataver.cli.docs`: do not edit._",
        "",
        *_summary(commands),
        "### Global options",
        "",
        "Accepted before or after the command (`dataver --json search` and "
        "`dataver search --json` are the same).",
        "",
        *_options_table([p for p in root.params if _is_global(p)], ctx),
        "### JSON objects",
        "",
        "A *version object* (`Dataset.to_dict()`) has these keys:",
        "",
        *_keys_table(VERSION),
        "A *file object* (`dataver list`) has these keys:",
        "",
        *_keys_table(FILE),
    ]
    for path, command, sub_ctx, _ in commands:
        parts += _section(path, command, sub_ctx)
    return "\n".join(parts).rstrip() + "\n"


def replace_generated(document: str, generated: str) -> str:
    """``document`` with the text between the markers replaced by ``generated``."""
    if BEGIN not in document or END not in document:
        raise ValueError(f"markers missing: the document needs {BEGIN!r} and {END!r}")
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{generated}\n{END}{tail}"


def _context(command: Any, name: str, parent: Any) -> Any:
    context_class = getattr(command, "context_class", None)
    if context_class is None:  # pragma: no cover - every click command has one
        raise TypeError(f"{command!r} is not a click command")
    return context_class(command, info_name=name, parent=parent)


def _commands(
    group: Any, ctx: Any, prefix: str = "", panel: str | None = None
) -> Iterator[tuple[str, Any, Any, str]]:
    """Every leaf command: its path (``cache info``), command, context and help panel."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        sub_ctx = _context(command, name, ctx)
        own_panel = panel or str(panel_of(command))
        if getattr(command, "commands", None) is not None:
            yield from _commands(command, sub_ctx, f"{path} ", own_panel)
        else:
            yield path, command, sub_ctx, own_panel


def _summary(commands: list[tuple[str, Any, Any, str]]) -> list[str]:
    lines: list[str] = []
    for panel in PANELS:
        mine = [(p, c) for p, c, _, in_panel in commands if in_panel == panel]
        lines += [f"**{panel}**", "", "| command | what it does |", "|---|---|"]
        lines += [f"| [`{p}`]({_anchor(p)}) | {_first(c.help)} |" for p, c in mine]
        lines.append("")
    return lines


def _anchor(path: str) -> str:
    return "#dataver-" + path.replace(" ", "-")


def _section(path: str, command: Any, ctx: Any) -> list[str]:
    pieces = " ".join(command.collect_usage_pieces(ctx))
    help_text = command.help or ""
    own = [p for p in command.get_params(ctx) if not _is_global(p) and p.name != "help"]
    lines = [
        f"### dataver {path}",
        "",
        *help_text.split("\n"),
        "",
        "```console",
        f"$ {PROG} {path} {pieces}".rstrip(),
        "```",
        "",
        *_options_table(own, ctx),
    ]
    examples = [e[2:] for e in (command.epilog or "").split("\n") if e.startswith("$ ")]
    if examples:
        lines += ["Examples:", "", "```console", *(f"$ {e}" for e in examples), "```", ""]
    lines += _json_lines(SHAPES.get(path))
    return lines


def _options_table(params: list[Any], ctx: Any) -> list[str]:
    if not params:
        return []
    rows = ["| option | description |", "|---|---|"]
    rows += [f"| {_names(param, ctx)} | {_describe(param)} |" for param in params]
    return [*rows, ""]


def _names(param: Any, ctx: Any) -> str:
    if getattr(param, "param_type_name", "") == "argument":
        return f"`{param.metavar or param.name.upper()}`"
    flags = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    metavar = None if getattr(param, "is_flag", False) else param.metavar
    return f"{flags} `{metavar}`" if metavar else flags


def _describe(param: Any) -> str:
    text = _markdown(getattr(param, "help", None) or "").replace("\n", " ")
    if getattr(param, "required", False):
        text += " Required."
    if param.metavar and param.metavar.endswith("..."):
        text += " One or more values."
    default = param.default
    if (
        getattr(param, "show_default", True) is not False
        and default not in (None, False, "", [], ())
        and not getattr(param, "is_flag", False)
    ):
        text += f" Default: `{default}`."
    return text.strip()


def _json_lines(shape: Shape | None) -> list[str]:
    if shape is None:
        return []
    if shape.kind == "version":
        return ["JSON (`--json`): a version object.", ""]
    if shape.kind == "versions":
        return ["JSON (`--json`): an array of version objects, newest first.", ""]
    what = "an array of objects with" if shape.kind == "array" else "an object with"
    return [f"JSON (`--json`): {what} these keys:", "", *_keys_table(shape.keys)]


def _keys_table(keys: Any) -> list[str]:
    return ["| key | value |", "|---|---|", *(f"| `{k}` | {v} |" for k, v in keys.items()), ""]


def _is_global(param: Any) -> bool:
    return panel_of(param) == GLOBAL


def _first(text: str | None) -> str:
    return _markdown(text or "").split("\n\n")[0]


def _markdown(text: str) -> str:
    """Help text for a markdown table cell: no markup, no ``|`` or ``*`` taken as syntax."""
    return text.replace("|", "\\|").replace("*", "\\*")


def main(argv: list[str] | None = None) -> int:
    """Print, write or check the generated reference; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m dataver.cli.docs", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="FILE", help="update FILE in place")
    group.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE is stale")
    args = parser.parse_args(argv)
    generated = render()
    if args.write is None and args.check is None:
        sys.stdout.write(generated)
        return 0
    target: Path = args.write or args.check
    current = target.read_text()
    wanted = replace_generated(current, generated)
    if args.write is not None:
        if wanted != current:
            target.write_text(wanted)
        return 0
    if wanted != current:
        sys.stderr.write(f"{target} is stale: run `{COMMAND}`\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
