"""Commands that list: the files of a version (list), versions (search), datasets (ls)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataver.cli import output
from dataver.cli.base import READABLE, IdOption, Options, app, command, load_version
from dataver.cli.helptext import READ
from dataver.cli.params import glob_list, regex
from dataver.versions.semver import highest
from dataver.versions.state import State

if TYPE_CHECKING:
    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry

HASH_CHARS = 16


# ------------------------------------------------------------------------------------ list


@command(
    app,
    "list",
    panel=READ,
    examples=[
        "dataver list",
        "dataver list --id 3f2a9c1e --filter 'train/*.jpg'",
        "dataver list --modified",
    ],
)
def list_files(
    ctx: typer.Context,
    id: IdOption = None,
    filter: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="GLOB...",
            help="Only paths matching one of these globs (a folder name selects its files).",
            callback=glob_list,
            show_default=False,
        ),
    ] = None,
    modified: Annotated[
        bool,
        typer.Option(
            "--modified",
            help="Only what this version changed against its parents: added, modified, "
            "renamed and removed paths.",
        ),
    ] = False,
) -> None:
    """List the files of a version with their sizes and hashes.

    Works in any state (an uploading version lists what it holds so far).
    """
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    from dataver.paths import PathMatcher, any_match

    matchers = [PathMatcher(p) for p in filter or []]
    changes = _changes(ds) if modified else None  # NOTE: as many rows as changed paths

    def files() -> Iterator[dict[str, Any]]:
        rows = _files(ds) if changes is None else iter(changes)
        return (row for row in rows if any_match(matchers, row["path"]))

    # NOTE: two passes over the entries (the totals or the column width, then the rows) rather
    # than a row per file held: a version may hold a million files.
    if opts.json:
        from dataver.cli.schema import FileRow, ListOutput

        count, total, _ = _totals(files())
        document = {"id": ds.id, "files": (), "total_files": count, "total_bytes": total}
        output.emit_streamed(ListOutput.model_validate(document), "files", files(), FileRow)
        return
    count, total, width = _totals(files())
    _print_files(files(), modified, width)
    output.status(
        opts, f"{output.count(count, 'file')}, {output.size(total)} in {output.label(ds)}"
    )


def _totals(files: Iterable[dict[str, Any]]) -> tuple[int, int, int]:
    """(files present, their bytes, the width of the widest size) of listed rows."""
    count = total = 0
    width = len("SIZE")
    for f in files:
        width = max(width, len(output.size(f["size"])))
        if f.get("change") != "removed":
            count += 1
            total += f["size"] or 0
    return count, total, width


def _files(ds: Dataset) -> Iterator[dict[str, Any]]:
    for e in ds.entries():
        yield {"path": e.path, "size": e.size, "hash": e.hash, "link": e.url}


def _changes(ds: Dataset) -> list[dict[str, Any]]:
    diff = ds.diff()
    kinds: dict[str, tuple[str, str | None]] = dict.fromkeys(diff.added, ("added", None))
    kinds.update(dict.fromkeys(diff.modified, ("modified", None)))
    kinds.update({new: ("renamed", old) for old, new in diff.renamed})
    rows = [
        {**row, "change": kinds[row["path"]][0], "from": kinds[row["path"]][1]}
        for row in _files(ds)
        if row["path"] in kinds
    ]
    rows += [
        {"path": p, "size": None, "hash": None, "link": None, "change": "removed", "from": None}
        for p in diff.removed
    ]
    return sorted(rows, key=lambda row: row["path"])


def _print_files(files: Iterable[dict[str, Any]], modified: bool, width: int) -> None:
    """Aligned columns under a header, written in batches (a version may hold a million files).

    The path comes last, whole: names with spaces stay readable and ``cut``/``awk`` friendly.
    ``width``: of the SIZE column (see :func:`_totals`).
    """
    lines = [
        f"{'SIZE':>{width}}  {'HASH':<{HASH_CHARS}}  " + ("CHANGE    PATH" if modified else "PATH")
    ]
    for f in files:
        digest = (f["hash"] or ("link" if f["link"] else "-"))[:HASH_CHARS]
        path = f["path"]
        if modified:
            path = f"{f['change']:<8}  " + (f"{f['from']} -> {path}" if f["from"] else path)
        lines.append(f"{output.size(f['size']):>{width}}  {digest:<{HASH_CHARS}}  {path}")
        if len(lines) >= 1000:
            output.result("\n".join(lines))
            lines.clear()
    if lines:
        output.result("\n".join(lines))


# ------------------------------------------------------------------------------- search, ls


@command(
    app,
    "search",
    panel=READ,
    examples=[
        "dataver search --project vision",
        "dataver search --name '^images' --states final published --tags nightly",
    ],
)
def search(
    ctx: typer.Context,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", "-p", metavar="PROJECT", help="Only this project.", show_default=False
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            metavar="REGEX",
            help="Only datasets whose name matches this regular expression.",
            callback=regex,
            show_default=False,
        ),
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option(
            "--tags",
            metavar="TAG...",
            help="Only versions with all these tags.",
            show_default=False,
        ),
    ] = None,
    states: Annotated[
        list[State] | None,
        typer.Option(
            "--states",
            metavar="STATE...",
            help="Only versions in these states: uploading, failed, aborted, final, "
            "published (default: all).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, metavar="N", help="At most N versions.", show_default=False),
    ] = None,
) -> None:
    """Search versions, newest first."""
    opts = Options.of(ctx)
    found = opts.registry().list(project=project, tags=tags or None, states=states or None)
    if name is not None:
        pattern = re.compile(name)
        found = [d for d in found if pattern.search(d.name)]
    found = found[:limit]
    if opts.json:
        from dataver.cli.schema import VersionObject

        output.emit([VersionObject.of(d) for d in found])
        return
    output.show(
        output.table(
            ["ID", "PROJECT", "NAME", "VERSION", "STATE", "FILES", "SIZE", "CREATED", "TAGS"],
            (
                [
                    output.short(d.id),
                    d.project,
                    d.name,
                    d.version,
                    output.state_of(d),
                    str(d.stats.files),
                    output.size(d.stats.logical_bytes),
                    output.when(d.created_at),
                    ", ".join(d.tags),
                ]
                for d in found
            ),
            right=("FILES", "SIZE"),
        )
    )
    output.status(opts, output.count(len(found), "version"))


@command(app, "ls", panel=READ, examples=["dataver ls", "dataver ls --project vision"])
def ls(
    ctx: typer.Context,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", "-p", metavar="PROJECT", help="Only this project.", show_default=False
        ),
    ] = None,
) -> None:
    """List datasets with their latest version (the highest final or published one)."""
    opts = Options.of(ctx)
    registry = opts.registry()
    rows = _datasets(registry, project)
    if opts.json:
        from dataver.cli.schema import DatasetRow

        output.emit([DatasetRow.model_validate(row) for row in rows])
        return
    output.show(
        output.table(
            ["PROJECT", "NAME", "VERSIONS", "LATEST", "STATE", "FILES", "SIZE", "UPDATED", "ID"],
            (_dataset_row(r) for r in rows),
            right=("VERSIONS", "FILES", "SIZE"),
        )
    )
    output.status(opts, output.count(len(rows), "dataset"))


def _datasets(registry: Registry, project: str | None) -> list[dict[str, Any]]:
    from dataver.versions.records import same_name

    versions: dict[tuple[str, str], list[Dataset]] = {}
    for ds in registry.list(project=project):
        versions.setdefault((ds.project, ds.name), []).append(ds)
    rows = []
    for record in registry.datasets():
        if project is not None and not same_name(record.project, project):
            continue
        mine = versions.get((record.project, record.name), [])
        readable = [d for d in mine if d.state in READABLE]
        top = highest(d.version for d in readable)
        latest = next((d for d in readable if d.version == top), None)
        rows.append(
            {
                "project": record.project,
                "name": record.name,
                "versions": len(mine),
                "latest": latest.to_dict() if latest else None,
                "updated_at": max(d.created_at for d in mine).isoformat() if mine else None,
            }
        )
    return rows


def _dataset_row(row: dict[str, Any]) -> list[str]:
    latest = row["latest"] or {}
    stats = latest.get("stats", {})
    updated = row["updated_at"]
    return [
        row["project"],
        row["name"],
        str(row["versions"]),
        latest.get("version", "-"),
        latest.get("state", "-"),
        str(stats.get("files", "-")),
        output.size(stats.get("logical_bytes")),
        updated[:16].replace("T", " ") if updated else "-",
        output.short(latest["id"]) if latest else "-",
    ]
