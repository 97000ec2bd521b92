"""Commands that read: list (files), search and ls (versions, datasets), show, get, verify,
diff and lineage.
"""

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataver import Dataset, Registry, State, VersionNotFoundError
from dataver.cli import output
from dataver.cli.base import (
    READ,
    IdOption,
    Options,
    app,
    command,
    current_id,
    escape,
    load_version,
    resolve_id,
)
from dataver.cli.errors import CliError, CliUsageError
from dataver.cli.params import glob_list, regex
from dataver.cli.progress import shown
from dataver.paths import PathMatcher, any_match
from dataver.versions.records import same_name
from dataver.versions.semver import highest

if TYPE_CHECKING:
    from rich.table import Table

READABLE = (State.FINAL, State.PUBLISHED)
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
    matchers = [PathMatcher(p) for p in filter or []]
    rows = _changes(ds) if modified else _files(ds)
    files = [row for row in rows if any_match(matchers, row["path"])]
    present = [f for f in files if f.get("change") != "removed"]
    total = sum(f["size"] or 0 for f in present)
    if opts.json:
        output.emit_json(
            {"id": ds.id, "files": files, "total_files": len(present), "total_bytes": total}
        )
        return
    _print_files(files, modified)
    output.status(
        opts, f"{output.count(len(present), 'file')}, {output.size(total)} in {output.label(ds)}"
    )


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


def _print_files(files: list[dict[str, Any]], modified: bool) -> None:
    """Aligned columns under a header, written in batches (a version may hold a million files).

    The path comes last, whole: names with spaces stay readable and ``cut``/``awk`` friendly.
    """
    width = max([len(output.size(f["size"])) for f in files] + [len("SIZE")])
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
        output.emit_json([d.to_dict() for d in found])
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
                    _state(d),
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
        output.emit_json(rows)
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


def _state(ds: Dataset) -> str:
    return "uploading (stale)" if ds.state is State.UPLOADING and ds.is_stale else ds.state.value


# ------------------------------------------------------------------------------------ show


@command(app, "show", panel=READ, examples=["dataver show", "dataver show --id 3f2a9c1e --json"])
def show(ctx: typer.Context, id: IdOption = None) -> None:
    """Show one version: state, parents, stats, tags, metadata and run provenance."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    details = describe(ds)
    if opts.json:
        output.emit_json(details)
        return
    output.show(_details_table(ds, details))


def describe(ds: Dataset) -> dict[str, Any]:
    """``Dataset.to_dict()`` and the rest of the record: what ``show --json`` prints."""
    record = ds.record
    return {
        **ds.to_dict(),
        "description": ds.description,
        "metadata": ds.metadata,
        "provenance": ds.provenance,
        "error": ds.error,
        "stale": ds.state is State.UPLOADING and ds.is_stale,
        "updated_at": record.updated_at.isoformat(),
        "finalized_at": record.finalized_at.isoformat() if record.finalized_at else None,
        "published_at": record.published_at.isoformat() if record.published_at else None,
    }


def _details_table(ds: Dataset, details: dict[str, Any]) -> "Table":
    """Two columns, field and value: what ``show`` prints for people."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    stats = ds.stats
    rows = [
        ("id", ds.id),
        ("dataset", f"{ds.project}/{ds.name}"),
        ("version", ds.version),
        ("state", _state(ds)),
        ("uri", ds.uri),
        ("parents", _parents(ds) or "-"),
        ("created", output.when(ds.created_at)),
        ("finalized", output.when(ds.record.finalized_at)),
        ("published", output.when(ds.record.published_at)),
        ("files", f"{stats.files} ({stats.links} links)" if stats.links else str(stats.files)),
        ("size", f"{output.size(stats.logical_bytes)} ({output.size(stats.stored_bytes)} stored)"),
        (
            "changes",
            f"{stats.added} added, {stats.modified} modified, {stats.removed} removed, "
            f"{stats.renamed} renamed",
        ),
        ("tags", ", ".join(ds.tags) or "-"),
        ("description", ds.description or "-"),
        ("metadata", _mapping(details["metadata"])),
        ("provenance", _mapping(details["provenance"])),
    ]
    if ds.error:
        rows.append(("error", ds.error))
    for key, value in rows:
        grid.add_row(key, escape(value))
    return grid


def _parents(ds: Dataset) -> str:
    registry = ds.registry
    names = []
    for parent in ds.parents:
        try:
            names.append(f"{parent} ({output.label(registry.get(parent, states=None))})")
        except VersionNotFoundError:
            names.append(f"{parent} (deleted)")
    return "\n".join(names)


def _mapping(values: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()) or "-"


# ------------------------------------------------------------------------------------- get


@command(
    app,
    "get",
    panel=READ,
    examples=[
        "dataver get --name images --project vision",
        "dataver get --id 3f2a9c1e --copy ./work --files 'train/*'",
        "dataver get --name images --version 1.0.2 --link ./data",
    ],
)
def get(
    ctx: typer.Context,
    id: IdOption = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            metavar="NAME",
            help="Dataset name (instead of --id).",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            metavar="PROJECT",
            help="Project (with --name; default: default).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            metavar="SEMVER",
            help="Exact version (with --name; default: the highest final or published).",
            show_default=False,
        ),
    ] = None,
    copy: Annotated[
        Path | None,
        typer.Option(
            "--copy", metavar="DIR", help="Copy the files into DIR (writable).", show_default=False
        ),
    ] = None,
    link: Annotated[
        Path | None,
        typer.Option(
            "--link",
            metavar="DIR",
            help="Make DIR a symbolic link to the read-only cached tree.",
            show_default=False,
        ),
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option(
            "--files",
            "-f",
            metavar="GLOB...",
            help="Only these paths or globs (a subset, cached on its own).",
            callback=glob_list,
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="With --copy: replace what DIR holds.")
    ] = False,
) -> None:
    """Get a local copy of a version and print its path.

    By default the path is the read-only tree in the local cache (files are hard links:
    never write to them); --copy makes a writable copy, --link a symbolic link to the cache.
    """
    opts = Options.of(ctx)
    _check_get_options(id, name, project, version, copy, link, overwrite)
    registry = opts.registry()
    if name is not None:
        ds = registry.get(name=name, project=project, version=version, states=READABLE)
    else:
        ds = load_version(opts, id)
    with shown(opts):
        if copy is not None:
            path = ds.get_mutable_local_copy(copy, overwrite=overwrite, paths=files)
        else:
            path = ds.get_local_copy(files)
    if link is not None:
        path = _symlink(link, path)
    if opts.json:
        output.emit_json({"path": str(path), "version": ds.to_dict()})
    else:
        output.result(str(path))


def _check_get_options(
    id: str | None,
    name: str | None,
    project: str | None,
    version: str | None,
    copy: Path | None,
    link: Path | None,
    overwrite: bool,
) -> None:
    if id is not None and name is not None:
        raise CliUsageError("--id and --name exclude each other", hint="pass one of them")
    if name is None and (project is not None or version is not None):
        raise CliUsageError("--project and --version need --name", hint="add --name NAME")
    if copy is not None and link is not None:
        raise CliUsageError("--copy and --link exclude each other", hint="pass one of them")
    if overwrite and copy is None:
        raise CliUsageError("--overwrite needs --copy", hint="add --copy DIR")


def _symlink(link: Path, target: Path) -> Path:
    """Point ``link`` at ``target``, replacing an existing symbolic link atomically."""
    link = link.expanduser().absolute()
    if link.exists() and not link.is_symlink():
        raise CliError(
            f"{link} exists and is not a symbolic link",
            hint="remove it, or pass another --link path",
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    tmp.replace(link)
    return link


# ---------------------------------------------------------------------------------- verify


@command(
    app, "verify", panel=READ, examples=["dataver verify", "dataver verify --id 3f2a9c1e --repair"]
)
def verify(
    ctx: typer.Context,
    id: IdOption = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Re-fetch damaged cached files from the registry."),
    ] = False,
) -> None:
    """Re-read every file of a version (registry and local cache) and check its hash.

    Exits 1 when a file is damaged (unless --repair fixed every damaged cached file).
    """
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    with shown(opts):
        damaged = ds.verify(repair=repair)
    ok = not damaged or repair
    if opts.json:
        output.emit_json(
            {"id": ds.id, "ok": ok, "damaged": damaged, "repaired": bool(repair and damaged)}
        )
    elif damaged:
        output.result("\n".join(damaged))
    if not ok:
        raise CliError(
            f"{output.count(len(damaged), 'damaged file')} in {output.label(ds)} ({ds.id})",
            hint=f"run 'dataver verify --id {ds.id} --repair' to re-fetch damaged cached files",
        )
    if not opts.json:
        done = f"repaired {output.count(len(damaged), 'file')}" if damaged else "all files intact"
        output.result(f"{done}: {output.label(ds)} ({output.count(ds.stats.files, 'file')})")


# ------------------------------------------------------------------------------------ diff


@command(
    app,
    "diff",
    panel=READ,
    examples=["dataver diff --source 3f2a9c1e --target 9c1e0b7d", "dataver diff --target 9c1e0b7d"],
)
def diff(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="ID",
            help="The version to compare from (default: the target's parents).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="ID",
            help="The version to compare (default: the current version).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show what changed from one version to another: added, removed, modified, renamed.

    Exits 0 whether or not there are differences.
    """
    opts = Options.of(ctx)
    registry = opts.registry()
    new = registry.get(current_id(opts, target), states=None)
    old = resolve_id(registry, source) if source is not None else None
    changes = new.diff(old)
    if opts.json:
        output.emit_json({"source": old, "target": new.id, **changes.as_dict()})
        return
    lines = [f"+ {p}" for p in changes.added]
    lines += [f"- {p}" for p in changes.removed]
    lines += [f"M {p}" for p in changes.modified]
    lines += [f"R {old_path} -> {new_path}" for old_path, new_path in changes.renamed]
    if lines:
        output.result("\n".join(lines))
    counts = (
        f"{len(changes.added)} added, {len(changes.removed)} removed, "
        f"{len(changes.modified)} modified, {len(changes.renamed)} renamed"
    )
    base = f"version {old}" if old else "its parents"
    output.status(opts, f"{output.label(new)} against {base}: {counts}")


# --------------------------------------------------------------------------------- lineage


@command(
    app, "lineage", panel=READ, examples=["dataver lineage", "dataver lineage --id 9c1e0b7d --json"]
)
def lineage(ctx: typer.Context, id: IdOption = None) -> None:
    """Show a version and its ancestors as a tree (parents below their children)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    graph = ds.lineage()
    known = dict(_load_all(ds.registry, graph))
    if opts.json:
        output.emit_json(
            {
                "id": ds.id,
                "parents": graph,
                "versions": {k: (v.to_dict() if v else None) for k, v in known.items()},
            }
        )
        return
    from rich.tree import Tree

    root = Tree(_node(ds.id, known[ds.id]))
    _grow(root, ds.id, graph, known, {ds.id})
    output.show(root)


def _load_all(registry: Registry, ids: Iterable[str]) -> Iterator[tuple[str, Dataset | None]]:
    for version_id in ids:
        try:
            yield version_id, registry.get(version_id, states=None)
        except VersionNotFoundError:
            yield version_id, None


def _grow(
    node: Any,
    version_id: str,
    graph: dict[str, list[str]],
    known: dict[str, Dataset | None],
    shown_ids: set[str],
) -> None:
    for parent in graph.get(version_id, []):
        if parent in shown_ids:
            node.add(_node(parent, known.get(parent)) + " (see above)")
            continue
        shown_ids.add(parent)
        _grow(node.add(_node(parent, known.get(parent))), parent, graph, known, shown_ids)


def _node(version_id: str, ds: Dataset | None) -> str:
    if ds is None:
        return f"{output.short(version_id)}  (deleted)"
    return escape(f"{output.label(ds)}  {ds.state.value}  {output.short(version_id)}")
