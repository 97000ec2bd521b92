"""Commands that manage datasets: squash, delete, rename, move."""

from typing import Annotated

import typer

from dataver.cli import output, state
from dataver.cli.base import Options, ProjectOption, app, command, resolve_id
from dataver.cli.helptext import MANAGE

NameOption = Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Dataset name.")]


# ---------------------------------------------------------------------------------- squash


@command(
    app,
    "squash",
    panel=MANAGE,
    examples=["dataver squash --ids 3f2a9c1e 9c1e0b7d --name images-all --project vision"],
)
def squash(
    ctx: typer.Context,
    ids: Annotated[
        list[str],
        typer.Option(
            "--ids",
            metavar="ID...",
            help="Versions to merge, in order (a later one wins on the same path).",
            show_default=False,
        ),
    ],
    name: NameOption,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            metavar="PROJECT",
            help="Project (default: the first version's project).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Merge versions into one new final version without parents; prints its id.

    The stored content is reused: nothing is uploaded again. The new version becomes the
    current version.
    """
    opts = Options.of(ctx)
    registry = opts.registry()
    ds = registry.squash([resolve_id(registry, i) for i in ids], name, project)
    state.remember(registry.url, ds.id)
    output.new_current(opts, ds, f"squashed {len(ids)} versions into {output.label(ds)}")


# ------------------------------------------------------------------ delete, rename, move


@command(
    app,
    "delete",
    panel=MANAGE,
    examples=["dataver delete --id 3f2a9c1e", "dataver delete --id 3f2a9c1e --force"],
)
def delete(
    ctx: typer.Context,
    id: Annotated[
        str,
        typer.Option(
            "--id",
            metavar="ID",
            help="The version to delete (required: no default).",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Also delete a published or still uploading version."),
    ] = False,
) -> None:
    """Delete a version; its content is reclaimed later by gc.

    Refused while live versions use it as a parent. Published and uploading versions need
    --force.
    """
    opts = Options.of(ctx)
    registry = opts.registry()
    version_id = resolve_id(registry, id)
    registry.delete(version_id, force=force)
    state.forget(registry.url, version_id)
    if opts.json:
        from dataver.cli.schema import DeleteOutput

        output.emit(DeleteOutput(deleted=version_id))
    else:
        output.result(f"deleted {version_id}")


@command(
    app,
    "rename",
    panel=MANAGE,
    examples=["dataver rename --project vision --name images --new-name photos"],
)
def rename(
    ctx: typer.Context,
    name: NameOption,
    new_name: Annotated[str, typer.Option("--new-name", metavar="NAME", help="The new name.")],
    project: ProjectOption = "default",
) -> None:
    """Rename a dataset (all its versions)."""
    opts = Options.of(ctx)
    opts.registry().rename(project, name, new_name)
    if opts.json:
        from dataver.cli.schema import RenameOutput

        output.emit(RenameOutput(project=project, name=name, new_name=new_name))
    else:
        output.result(f"renamed {project}/{name} to {project}/{new_name}")


@command(
    app,
    "move",
    panel=MANAGE,
    examples=["dataver move --project vision --name images --new-project archive"],
)
def move(
    ctx: typer.Context,
    name: NameOption,
    new_project: Annotated[
        str, typer.Option("--new-project", metavar="PROJECT", help="The project to move it to.")
    ],
    project: ProjectOption = "default",
) -> None:
    """Move a dataset (all its versions) to another project."""
    opts = Options.of(ctx)
    opts.registry().move(project, name, new_project)
    if opts.json:
        from dataver.cli.schema import MoveOutput

        output.emit(MoveOutput(project=project, name=name, new_project=new_project))
    else:
        output.result(f"moved {project}/{name} to {new_project}/{name}")
