"""Commands that build a version: create, add, remove, sync, upload, close, finalize, ...

A version is built while it is Uploading (``create``, then ``add`` / ``remove`` / ``sync``),
its new content is stored by ``upload``, and ``finalize`` seals it (``close`` does both).
``publish`` makes a Final version read-only for good; ``abort`` ends an unfinished one.
"""

from pathlib import Path
from typing import Annotated

import typer

from dataver import Dataset, DataverError, Registry, State
from dataver.cli import output, state
from dataver.cli.base import (
    BUILD,
    IdOption,
    Options,
    ProjectOption,
    app,
    command,
    load_version,
    resolve_id,
)
from dataver.cli.errors import CliError, CliUsageError
from dataver.cli.params import glob_list
from dataver.cli.progress import shown
from dataver.scan import Symlinks

DatasetFolderOption = Annotated[
    str,
    typer.Option(
        "--dataset-folder",
        metavar="FOLDER",
        help="Folder inside the dataset to put the files in (default: the root).",
    ),
]
SymlinksOption = Annotated[
    Symlinks,
    typer.Option(
        "--symlinks",
        metavar="POLICY",
        help="Symbolic links that lead outside the folder: refuse (fail, naming them, before "
        "anything changes), follow (add what they lead to) or skip (leave them out). Links "
        "inside it are stored as their target's content.",
    ),
]
MaxWorkersOption = Annotated[
    int | None,
    typer.Option(
        "--max-workers",
        min=1,
        metavar="N",
        help="Parallel transfers (default: DATAVER_MAX_WORKERS, 8).",
        show_default=False,
    ),
]
ParentsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--parents",
        metavar="ID...",
        help="Parent versions (ids or unique prefixes), in merge order: a later parent "
        "wins on the same path.",
        show_default=False,
    ),
]


@command(
    app,
    "create",
    panel=BUILD,
    examples=[
        "dataver create --name images --project vision",
        "dataver create --name images --project vision --parents 3f2a9c1e --tags nightly",
    ],
)
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Dataset name.")],
    project: ProjectOption = "default",
    parents: ParentsOption = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            metavar="SEMVER",
            help="Version string (default: the next patch version, taken atomically).",
            show_default=False,
        ),
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tags", metavar="TAG...", help="Tags of the version.", show_default=False),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", metavar="TEXT", help="Free text.", show_default=False),
    ] = None,
) -> None:
    """Create a version (state uploading), print its id and make it the current version.

    The new version starts with the files of its parents and stores only what changes.
    Commands given no --id work on it until the next create.
    """
    opts = Options.of(ctx)
    registry = opts.registry()
    parent_ids = [resolve_id(registry, p) for p in parents or []]
    ds = registry.create(
        name,
        project,
        parents=parent_ids or None,
        version=version,
        tags=tags,
        description=description,
    )
    state.remember(registry.url, ds.id)
    output.new_current(
        opts, ds, f"created {output.label(ds)} (uploading); it is the current version"
    )


@command(
    app,
    "add",
    panel=BUILD,
    examples=[
        "dataver add --files data/ extra/labels.csv",
        "dataver add --files photos/ --dataset-folder train --wildcard '*.jpg' '*.png'",
        "dataver add --links s3://bucket/raw/ --dataset-folder raw",
        "dataver add --files shared/exports/ --symlinks skip",
    ],
)
def add(
    ctx: typer.Context,
    id: IdOption = None,
    files: Annotated[
        list[str] | None,
        typer.Option(
            "--files",
            "-f",
            metavar="PATH...",
            help="Local files or folders; a folder adds its contents.",
            show_default=False,
        ),
    ] = None,
    dataset_folder: DatasetFolderOption = "",
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
    links: Annotated[
        list[str] | None,
        typer.Option(
            "--links",
            metavar="URL...",
            help="Add links to files that stay where they are (any fsspec URL); nothing "
            "is uploaded.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add files (or links) to an uploading version.

    Unchanged files are recognised by hash and cost nothing; a stat cache avoids
    re-reading files whose size, time and inode did not change.
    """
    opts = Options.of(ctx)
    if not files and not links:
        raise CliUsageError("nothing to add", hint="pass --files PATH... or --links URL...")
    ds = load_version(opts, id)
    recursive = not non_recursive
    added = linked = 0
    with shown(opts):
        for path in files or []:
            added += ds.add_files(
                path,
                dataset_folder,
                wildcard or None,
                recursive,
                symlinks=symlinks,
            )
    for url in links or []:
        linked += ds.add_external_files(url, dataset_folder, wildcard or None, recursive)
    if opts.json:
        output.emit_json({"id": ds.id, "files": added, "links": linked})
        return
    what = f"{output.count(added, 'file')} added or changed" + (
        f", {output.count(linked, 'link')}" if links else ""
    )
    output.result(f"{what} in {output.label(ds)} ({ds.id})")


@command(
    app,
    "remove",
    panel=BUILD,
    examples=[
        "dataver remove --files 'tmp/' '*.bak'",
        "dataver remove --files '*.log' --non-recursive",
    ],
)
def remove(
    ctx: typer.Context,
    id: IdOption = None,
    files: Annotated[
        list[str] | None,
        typer.Option(
            "--files",
            "-f",
            metavar="GLOB...",
            help="Dataset paths or globs; a folder removes everything under it.",
            callback=glob_list,
            show_default=False,
        ),
    ] = None,
    non_recursive: Annotated[
        bool,
        typer.Option(
            "--non-recursive",
            help="Match from the dataset root only ('*.csv' then skips sub-folders).",
        ),
    ] = False,
) -> None:
    """Remove files from an uploading version.

    A pattern that matches nothing is reported as a warning (the exit code stays 0), so
    cleaning steps can be re-run.
    """
    opts = Options.of(ctx)
    if not files:
        raise CliUsageError("nothing to remove", hint="pass --files GLOB...")
    ds = load_version(opts, id)
    removed = 0
    unmatched = []
    for pattern in files:
        count = ds.remove_files(pattern, recursive=not non_recursive)
        removed += count
        if not count:
            unmatched.append(pattern)
    for pattern in unmatched:
        output.warn(f"{pattern!r} matched no file in {output.label(ds)}")
    if opts.json:
        output.emit_json({"id": ds.id, "removed": removed, "unmatched": unmatched})
        return
    output.result(f"{output.count(removed, 'file')} removed from {output.label(ds)} ({ds.id})")


@command(
    app,
    "sync",
    panel=BUILD,
    examples=[
        "dataver sync --folder data/ --name images --project vision",
        "dataver sync --folder data/ --id 3f2a9c1e --skip-close",
    ],
)
def sync(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Option(
            "--folder", metavar="FOLDER", help="Local folder to mirror.", show_default=False
        ),
    ],
    id: Annotated[
        str | None,
        typer.Option(
            "--id",
            metavar="ID",
            help="Sync into this uploading version instead of creating one.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            metavar="NAME",
            help="Create a new version of this dataset.",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            metavar="PROJECT",
            help="Project of the dataset (with --name; default: default).",
            show_default=False,
        ),
    ] = None,
    parents: Annotated[
        list[str] | None,
        typer.Option(
            "--parents",
            metavar="ID...",
            help="Parents of the new version (with --name; default: the dataset's latest "
            "final or published version, if any).",
            show_default=False,
        ),
    ] = None,
    dataset_folder: DatasetFolderOption = "",
    skip_close: Annotated[
        bool,
        typer.Option(
            "--skip-close",
            help="Leave the version uploading: no upload, no finalize, and a new version is "
            "kept even without changes.",
        ),
    ] = False,
    max_workers: MaxWorkersOption = None,
) -> None:
    """Make a version mirror a local folder: create, sync, upload and finalize in one step.

    With --name, a new version of the dataset is created on top of its latest version; if
    the folder holds exactly what that parent holds, the new version is deleted again ("no
    changes") and the parent's id is printed. With --id (or neither: the current version),
    that uploading version is synced. Prints the id of the version that mirrors the folder
    and makes it the current version.
    """
    opts = Options.of(ctx)
    if id is not None and name is not None:
        raise CliUsageError("--id and --name exclude each other", hint="pass one of them")
    if (parents or project is not None) and name is None:
        raise CliUsageError("--parents and --project need --name", hint="add --name NAME")
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise CliError(f"{what}: {folder}", hint="pass an existing local folder to --folder")
    registry = opts.registry()
    created = name is not None
    if name is not None:
        ds = _new_version(registry, name, project or "default", parents)
    else:
        ds = load_version(opts, id)
    try:
        with shown(opts):
            counts = ds.sync_folder(folder, dataset_folder)
    except BaseException as exc:
        if created:
            _end(opts, ds, exc)
        raise
    report = {"removed": counts[0], "added": counts[1], "modified": counts[2]}
    changed = any(counts)
    output.status(
        opts, f"synced {folder}: {counts[0]} removed, {counts[1]} added, {counts[2]} modified"
    )
    if created and not changed and ds.parents and not skip_close:
        registry.delete(ds.id, force=True)
        _unchanged(opts, ds.parents, report)
        return
    uploaded = 0 if skip_close else _close(opts, ds, max_workers)
    state.remember(registry.url, ds.id)
    output.status(opts, f"{output.label(ds)} is {ds.state.value}")
    if opts.json:
        output.emit_json(
            {
                "id": ds.id,
                "created": created,
                "changed": changed,
                **report,
                "uploaded_bytes": uploaded,
                "version": ds.to_dict(),
            }
        )
    else:
        output.result(ds.id)


def _new_version(registry: Registry, name: str, project: str, parents: list[str] | None) -> Dataset:
    """A new version of ``project/name`` on ``parents`` (default: its latest version)."""
    if parents:
        return registry.create(name, project, parents=[resolve_id(registry, p) for p in parents])
    return registry.create(name, project, parents="latest")


def _end(opts: Options, ds: Dataset, error: BaseException) -> None:
    """End a version this command created and cannot finish: Aborted or Failed."""
    try:
        if isinstance(error, KeyboardInterrupt):
            ds.abort("interrupted")
        else:
            ds.fail(f"sync failed: {error}")
    except DataverError:
        return
    output.status(opts, f"{output.label(ds)} ({ds.id}) is {ds.state.value}")


def _close(opts: Options, ds: Dataset, max_workers: int | None) -> int:
    """Upload and finalize; return the bytes newly stored. On failure, say how to resume."""
    if ds.state is not State.UPLOADING:
        ds.finalize()  # refused with the SDK's own words: "cannot finalize version ..."
    try:
        with shown(opts):
            uploaded = ds.upload(max_workers)
        ds.finalize()
    except DataverError:
        if ds.state is State.UPLOADING:
            output.status(opts, f"{ds.id} is still uploading: 'dataver close --id {ds.id}' resumes")
        raise
    return uploaded


def _unchanged(opts: Options, parents: tuple[str, ...], report: dict[str, int]) -> None:
    """Report a sync that changed nothing (its new version was deleted again)."""
    registry = opts.registry()
    mirror = registry.get(parents[0], states=None) if len(parents) == 1 else None
    base = output.label(mirror) if mirror is not None else "its parents"
    output.status(opts, f"no changes against {base}: no version created")
    if mirror is not None:
        state.remember(registry.url, mirror.id)
    if opts.json:
        output.emit_json(
            {
                "id": mirror.id if mirror else None,
                "created": False,
                "changed": False,
                **report,
                "uploaded_bytes": 0,
                "version": mirror.to_dict() if mirror else None,
            }
        )
    elif mirror is not None:
        output.result(mirror.id)


@command(
    app,
    "upload",
    panel=BUILD,
    examples=["dataver upload", "dataver upload --id 3f2a9c1e --max-workers 16"],
)
def upload(ctx: typer.Context, id: IdOption = None, max_workers: MaxWorkersOption = None) -> None:
    """Store the content added so far (only bytes the registry lacks); resumable."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    with shown(opts):
        stored = ds.upload(max_workers)
    if opts.json:
        output.emit_json({"id": ds.id, "uploaded_bytes": stored})
        return
    output.result(f"uploaded {output.size(stored)} for {output.label(ds)} ({ds.id})")


@command(app, "close", panel=BUILD, examples=["dataver close", "dataver close --id 3f2a9c1e"])
def close(ctx: typer.Context, id: IdOption = None, max_workers: MaxWorkersOption = None) -> None:
    """Upload what is pending and finalize: the version becomes final (immutable)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    _close(opts, ds, max_workers)
    _print_version(opts, ds, "finalized")


@command(app, "finalize", panel=BUILD, examples=["dataver finalize --id 3f2a9c1e"])
def finalize(ctx: typer.Context, id: IdOption = None) -> None:
    """Seal an uploaded version (final). Refuses while content is not uploaded: see close."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.finalize()
    _print_version(opts, ds, "finalized")


@command(app, "publish", panel=BUILD, examples=["dataver publish --id 3f2a9c1e"])
def publish(ctx: typer.Context, id: IdOption = None) -> None:
    """Publish a final version: read-only for good, and protected from delete."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.publish()
    _print_version(opts, ds, "published")


@command(app, "abort", panel=BUILD, examples=["dataver abort --reason 'bad labels'"])
def abort(
    ctx: typer.Context,
    id: IdOption = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", metavar="TEXT", help="Why (kept in the version).", show_default=False
        ),
    ] = None,
) -> None:
    """Abort an uploading version (yours, or a stale one whose writer died)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.abort(reason)
    _print_version(opts, ds, "aborted")


def _print_version(opts: Options, ds: Dataset, done: str) -> None:
    if opts.json:
        output.emit_json(ds.to_dict())
        return
    stats = ds.stats
    output.result(
        f"{done} {output.label(ds)} ({ds.id}): {output.count(stats.files, 'file')}, "
        f"{output.size(stats.logical_bytes)}, {output.size(stats.stored_bytes)} stored"
    )
