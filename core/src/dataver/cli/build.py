"""Commands that build a version: create, add, remove.

A version is built while it is Uploading (``create``, then ``add`` / ``remove``, or ``sync``:
:mod:`.sync`), its new content is stored by ``upload``, and ``finalize`` seals it (``close``
does both: :mod:`.seal`).
"""

from typing import Annotated

import typer

from dataver.cli import output, state
from dataver.cli.base import (
    DatasetFolderOption,
    IdOption,
    Options,
    PartOption,
    ProjectOption,
    SymlinksOption,
    WriterOption,
    app,
    command,
    interrupted_change,
    load_version,
    read_part,
    resolve_id,
)
from dataver.cli.errors import CliInterruptedError, CliUsageError
from dataver.cli.helptext import BUILD
from dataver.cli.params import glob_list
from dataver.cli.progress import shown

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
    registry = opts.registry(creating=True)
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
    opts.created_registry()
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
    writer: WriterOption = None,
    part: PartOption = None,
) -> None:
    """Add files (or links) to an uploading version: all of them, or nothing.

    Every path is checked, scanned and hashed before the version changes: a missing or
    unreadable one adds nothing. Unchanged files are recognised by hash and cost nothing;
    a stat cache avoids re-reading files whose size, time and inode did not change.
    """
    opts = Options.of(ctx)
    if not files and not links:
        raise CliUsageError("nothing to add", hint="pass --files PATH... or --links URL...")
    chosen = read_part(part)
    ds = load_version(opts, id)
    recursive = not non_recursive
    added = linked = 0
    before = ds.record
    try:
        with shown(opts), ds.writer(writer) if writer is not None else ds.batch() as into:
            target = into if into is not None else ds
            if files:
                added = target.add_files(
                    files,
                    dataset_folder,
                    wildcard or None,
                    recursive,
                    symlinks=symlinks,
                    part=chosen,
                )
            if links:
                linked = target.add_external_files(
                    links, dataset_folder, wildcard or None, recursive, part=chosen
                )
    except KeyboardInterrupt:
        if writer is not None:
            raise CliInterruptedError(
                f"interrupted: nothing of writer {writer!r}'s work was recorded in "
                f"{output.label(ds)} ({ds.id}); its earlier contribution, if any, stands",
                hint="run the same command again: content already stored is not sent twice",
            ) from None
        raise interrupted_change(ds, before, "adding files") from None
    if opts.json:
        from dataver.cli.schema import AddOutput

        output.emit(AddOutput(id=ds.id, files=added, links=linked))
        return
    what = f"{output.count(added, 'file')} added or changed" + (
        f", {output.count(linked, 'link')}" if links else ""
    )
    by = f" by writer {writer!r} (committed; finalize merges it)" if writer is not None else ""
    output.result(f"{what} in {output.label(ds)} ({ds.id}){by}")


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
    before = ds.record
    try:
        with ds.batch():
            for pattern in files:
                count = ds.remove_files(pattern, recursive=not non_recursive)
                removed += count
                if not count:
                    unmatched.append(pattern)
    except KeyboardInterrupt:
        raise interrupted_change(ds, before, "removing files") from None
    for pattern in unmatched:
        output.warn(f"{pattern!r} matched no file in {output.label(ds)}")
    if opts.json:
        from dataver.cli.schema import RemoveOutput

        output.emit(RemoveOutput(id=ds.id, removed=removed, unmatched=tuple(unmatched)))
        return
    output.result(f"{output.count(removed, 'file')} removed from {output.label(ds)} ({ds.id})")
