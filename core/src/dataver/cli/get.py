"""Commands that read a version's content: get (a local copy) and verify (every hash)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dataver.cli import output
from dataver.cli.base import READABLE, IdOption, Options, app, command, load_version
from dataver.cli.errors import CliError, CliInterruptedError, CliUsageError
from dataver.cli.helptext import READ
from dataver.cli.params import glob_list
from dataver.cli.progress import shown

# ------------------------------------------------------------------------------------- get


@command(
    app,
    "get",
    panel=READ,
    examples=[
        "dataver get --name images --project vision",
        "dataver get --id 3f2a9c1e --copy ./work --files 'train/*'",
        "dataver get --name images --version 1.0.2 --link ./data",
        "dataver get --name images --part 2 --num-parts 8",
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
    part: Annotated[
        int | None,
        typer.Option(
            "--part",
            metavar="K",
            help="Only part K (from 0) of --num-parts disjoint shares of the files, for N "
            "workers (contiguous in path order, balanced by count).",
            show_default=False,
        ),
    ] = None,
    num_parts: Annotated[
        int | None,
        typer.Option(
            "--num-parts", metavar="N", help="With --part: how many parts.", show_default=False
        ),
    ] = None,
) -> None:
    """Get a local copy of a version and print its path.

    By default the path is the read-only tree in the local cache (files are hard links:
    never write to them); --copy makes a writable copy, --link a symbolic link to the cache.
    """
    opts = Options.of(ctx)
    _check_get_options(id, name, project, version, copy, link, overwrite)
    from dataver.manifest.parts import check_part

    check_part(part, num_parts)
    registry = opts.registry()
    if name is not None:
        ds = registry.get(name=name, project=project, version=version, states=READABLE)
    else:
        ds = load_version(opts, id)
    try:
        with shown(opts):
            if copy is not None:
                path = ds.get_mutable_local_copy(
                    copy, overwrite=overwrite, paths=files, part=part, num_parts=num_parts
                )
            else:
                path = ds.get_local_copy(files, part=part, num_parts=num_parts)
    except KeyboardInterrupt:
        if copy is not None:
            raise CliInterruptedError(
                f"interrupted: the copy of {output.label(ds)} ({ds.id}) in {copy} may be "
                "incomplete; the files downloaded so far stay in the local cache",
                hint="run the same 'dataver get' again with --overwrite: only what is "
                "missing is downloaded",
            ) from None
        raise CliInterruptedError(
            f"interrupted: {output.label(ds)} ({ds.id}) is not in the local cache yet; the "
            "files downloaded so far are kept",
            hint="run the same 'dataver get' again: it fetches only what is missing",
        ) from None
    if link is not None:
        path = _symlink(link, path)
    if opts.json:
        from dataver.cli.schema import GetOutput, VersionObject

        output.emit(GetOutput(path=str(path), version=VersionObject.of(ds)))
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
        from dataver.cli.schema import VerifyOutput

        repaired = bool(repair and damaged)
        output.emit(VerifyOutput(id=ds.id, ok=ok, damaged=tuple(damaged), repaired=repaired))
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
