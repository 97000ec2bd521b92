"""``dataver partition``: plan the parts of a folder or URL for workers that build one version.

No registry is read or written: the parts are ranges of relative paths (``dataver.partition``)
that a scheduler hands to its workers (``--json`` prints them as ``Part.to_dict()``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from dataver.cli import output
from dataver.cli.base import Options, SymlinksOption, app, command
from dataver.cli.helptext import BUILD
from dataver.cli.params import glob_list

if TYPE_CHECKING:
    from dataver.partitioning import Part

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@command(
    app,
    "partition",
    panel=BUILD,
    examples=[
        "dataver partition data/ --parts 8",
        "dataver partition s3://bucket/raw/ --parts 16 --by bytes --json",
        "dataver partition photos/ --parts 4 --wildcard '*.jpg' '*.png'",
    ],
)
def partition_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="A local folder, or a URL (s3://bucket/prefix, any fsspec URL).",
            show_default=False,
        ),
    ],
    parts: Annotated[
        int,
        typer.Option("--parts", min=1, metavar="N", help="How many parts.", show_default=False),
    ],
    by: Annotated[
        Literal["count", "bytes"],
        typer.Option(
            "--by",
            metavar="WHAT",
            help="Balance the parts by file count (sizes differ by at most one) or by bytes "
            "(no part holds more than its share plus its largest file).",
        ),
    ] = "count",
    wildcard: Annotated[
        list[str] | None,
        typer.Option(
            "--wildcard",
            metavar="GLOB...",
            help="Only files matching one of these globs (at any depth, e.g. '*.jpg').",
            callback=glob_list,
            show_default=False,
        ),
    ] = None,
    non_recursive: Annotated[
        bool, typer.Option("--non-recursive", help="Do not descend into sub-folders.")
    ] = False,
    symlinks: SymlinksOption = "refuse",
) -> None:
    """Split the files of a folder or URL into N balanced parts for N workers.

    Each part is a range of relative paths [start, stop) in path order, the paths 'dataver
    add --files SOURCE' would give the files: every worker adds the files of its own part to
    one version, and a file that appears later still falls into exactly one part. Reads no
    registry.
    """
    opts = Options.of(ctx)
    from dataver.partitioning import partition

    found = partition(
        source,
        parts,
        by=by,
        wildcard=wildcard or None,
        recursive=not non_recursive,
        symlinks=symlinks,
    )
    if opts.json:
        from dataver.cli.schema import PartObject

        output.emit([PartObject.model_validate(p.to_dict()) for p in found])
        return
    output.show(
        output.table(
            ["PART", "FILES", "SIZE", "START", "STOP"],
            (_row(p) for p in found),
            right=("PART", "FILES", "SIZE"),
        )
    )
    files = output.count(sum(p.files for p in found), "file")
    size = output.size(sum(p.bytes for p in found))
    output.status(opts, f"{output.count(parts, 'part')} of {files} ({size}), balanced by {by}")


def _row(part: Part) -> list[str]:
    return [
        str(part.index),
        str(part.files),
        output.size(part.bytes),
        _bound(part.start, "(first)"),
        _bound(part.stop, "(last)"),
    ]


def _bound(path: str | None, unbounded: str) -> str:
    """A boundary for a table cell: control characters (the NULs of an empty part's
    boundary) escaped, rich markup (``[``) taken literally."""
    from rich.markup import escape

    if path is None:
        return unbounded
    return escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", path))
