"""``--help`` as plain text, laid out like docs/cli.md: commands by panel, global options apart.

typer's rich help renderer imports rich's markdown, syntax and traceback modules (pygments,
markdown_it) and takes ~0.1 s more per ``dataver --help`` than click's plain formatter (issue
24, decision 45). These classes keep click's formatter and add the two groupings that the rich
one gave: the panel of each command and a section of its own for the global options.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from typer.core import TyperCommand, TyperGroup

BUILD = "Build a version"
READ = "Read versions"
MANAGE = "Manage datasets"
CACHE = "Local cache"
GLOBAL = "Global options"

PANELS = (BUILD, READ, MANAGE, CACHE)
"""The panels of ``dataver --help`` (and docs/cli.md), in the order they are shown."""


def panel_of(command: Any) -> str | None:
    """The panel ``command`` (or option) is listed under, if any."""
    panel = getattr(command, "rich_help_panel", None)
    return panel if isinstance(panel, str) else None


def examples_epilog(examples: Iterable[str]) -> str:
    """The epilog of a command: its examples, one shell line each, never re-wrapped."""
    # NOTE: click keeps a paragraph whose first line is "\b" as written.
    return "Examples:\n\n\b\n" + "\n".join(f"$ {example}" for example in examples)


def _write_options(command: Any, ctx: Any, formatter: Any) -> None:
    sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": [], GLOBAL: []}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            sections["Arguments"].append(record)
        elif panel_of(param) == GLOBAL or param.name == "help":
            sections[GLOBAL].append(record)
        else:
            sections["Options"].append(record)
    for title, rows in sections.items():
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


class PanelCommand(TyperCommand):
    """A command whose ``--help`` lists its own options before the global ones."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """Write the arguments, the command's options, then the global options."""
        _write_options(self, ctx, formatter)


class PanelGroup(TyperGroup):
    """A group whose ``--help`` lists its commands under their panels."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """Write the options as :class:`PanelCommand` does, then the commands by panel."""
        _write_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """One section per panel (in :data:`PANELS` order); commands without one last."""
        shown = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        commands = [(name, cmd) for name, cmd in shown if cmd is not None and not cmd.hidden]
        if not commands:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in commands)
        titles = [*PANELS, None]
        for title in titles:
            rows = [
                (name, cmd.get_short_help_str(limit))
                for name, cmd in commands
                if (panel_of(cmd) if panel_of(cmd) in PANELS else None) == title
            ]
            if rows:
                with formatter.section(title or "Commands"):
                    formatter.write_dl(rows)
