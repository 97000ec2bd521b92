"""``dataver sync``: make a version mirror a local folder, in one step."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dataver.cli import output, state
from dataver.cli.base import (
    DatasetFolderOption,
    MaxWorkersOption,
    Options,
    SymlinksOption,
    app,
    close_version,
    command,
    interrupted_change,
    load_version,
    resolve_id,
)
from dataver.cli.errors import CliError, CliInterruptedError, CliUsageError
from dataver.cli.helptext import BUILD
from dataver.cli.progress import shown
from dataver.policies import Symlinks, Unchanged
from dataver.versions.state import State

if TYPE_CHECKING:
    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry
    from dataver.api.steps import FolderVersion


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
    symlinks: SymlinksOption = "refuse",
    unchanged: Annotated[
        Unchanged,
        typer.Option(
            "--unchanged",
            metavar="POLICY",
            help="With --name, a folder holding exactly what the parent holds: 'reuse' the "
            "parent (no version created), build a 'new' version anyway, or 'skip' (nothing "
            "created, nothing printed on stdout).",
        ),
    ] = "reuse",
    skip_close: Annotated[
        bool,
        typer.Option(
            "--skip-close",
            help="Leave the version uploading: no upload, no finalize, and a new version is "
            "kept even without changes.",
        ),
    ] = False,
    max_workers: MaxWorkersOption = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Version an empty folder (no file below it): refused by default, as an "
            "export that produced nothing would remove every file of the version.",
        ),
    ] = False,
) -> None:
    """Make a version mirror a local folder: create, sync, upload and finalize in one step.

    With --name, a new version of the dataset is built on top of its latest version (or
    --parents); if the folder holds exactly what that parent holds, --unchanged decides
    (default: reuse the parent, create nothing, print its id). With --id (or neither: the
    current version), that uploading version is synced and closed. Prints the id of the
    version that mirrors the folder and makes it the current version. An empty folder is
    refused unless --allow-empty.
    """
    opts = Options.of(ctx)
    if id is not None and name is not None:
        raise CliUsageError("--id and --name exclude each other", hint="pass one of them")
    if (parents or project is not None) and name is None:
        raise CliUsageError("--parents and --project need --name", hint="add --name NAME")
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise CliError(f"{what}: {folder}", hint="pass an existing local folder to --folder")
    if name is None:
        from dataver.api.steps import holds_a_file

        if not allow_empty and not holds_a_file(folder):
            raise CliError(f"{folder} holds no files: nothing was synced", hint=EMPTY_HINT)
        _sync_into(opts, load_version(opts, id), folder, dataset_folder, symlinks, skip_close,
                   max_workers)  # fmt: skip
        return
    registry = opts.registry(creating=True)
    from dataver.versions.records import utcnow

    started = utcnow()
    try:
        with shown(opts):
            done = registry.version_folder(
                name,
                folder,
                project or "default",
                dataset_path=dataset_folder,
                parents=[resolve_id(registry, p) for p in parents] if parents else "latest",
                unchanged="new" if skip_close else unchanged,
                finalize=not skip_close,
                symlinks=symlinks,
                max_workers=max_workers,
                allow_empty=allow_empty,
            )
    except KeyboardInterrupt:
        raise _interrupted(registry, project or "default", name, started) from None
    opts.created_registry()
    _report_folder(opts, folder, done)


EMPTY_HINT = "pass --allow-empty to version an empty folder, or check the folder"


def _interrupted(registry: Registry, project: str, name: str, started: datetime) -> CliError:
    """What Ctrl-C left: the version ``version_folder`` built was aborted, if it got that far."""
    mine = [
        ds
        for ds in registry.list(project=project, name=name, states=[State.ABORTED])
        if ds.created_at >= started and (ds.error or "").startswith("interrupted")
    ]
    if not mine:
        return CliInterruptedError(
            "interrupted before a version was created: nothing changed",
            hint="run the same 'dataver sync' again",
        )
    ds = mine[0]
    return CliInterruptedError(
        f"interrupted: {output.label(ds)} ({ds.id}) was aborted; nothing else changed",
        hint="run the same 'dataver sync' again (content already stored is not sent twice)",
    )


def _sync_into(
    opts: Options,
    ds: Dataset,
    folder: Path,
    dataset_folder: str,
    symlinks: Symlinks,
    skip_close: bool,
    max_workers: int | None,
) -> None:
    """Sync an existing uploading version, then (unless --skip-close) close it."""
    before = ds.record
    try:
        with shown(opts):
            counts = ds.sync_folder(folder, dataset_folder, symlinks=symlinks)
    except KeyboardInterrupt:
        raise interrupted_change(ds, before, f"syncing {folder}") from None
    output.status(
        opts, f"synced {folder}: {counts[0]} removed, {counts[1]} added, {counts[2]} modified"
    )
    uploaded = 0 if skip_close else close_version(opts, ds, max_workers)
    report = {"removed": counts[0], "added": counts[1], "modified": counts[2]}
    _emit_sync(opts, ds, created=False, changed=any(counts), report=report, uploaded=uploaded)


def _report_folder(opts: Options, folder: Path, done: FolderVersion) -> None:
    """Say what ``version_folder`` did: the version built, or the parent reused."""
    report = {"removed": done.removed, "added": done.added, "modified": done.modified}
    ds = done.dataset
    if done.outcome in ("reused", "skipped"):
        parent = ds or opts.registry().get(str(done.parent), states=None)
        skipped = " (--unchanged skip)" if ds is None else ""
        output.status(
            opts, f"no changes against {output.label(parent)}: no version created{skipped}"
        )
    else:
        output.status(
            opts,
            f"synced {folder}: {done.removed} removed, {done.added} added, "
            f"{done.modified} modified",
        )
    if ds is None:
        if opts.json:
            from dataver.cli.schema import SyncOutput

            nothing = {"id": None, "created": False, "changed": False, "uploaded_bytes": 0}
            document = {**nothing, **report, "outcome": done.outcome, "version": None}
            output.emit(SyncOutput.model_validate(document))
        return
    created = done.outcome == "built"
    _emit_sync(opts, ds, created, done.changed, report, done.stored_bytes, done.outcome)


def _emit_sync(
    opts: Options,
    ds: Dataset,
    created: bool,
    changed: bool,
    report: dict[str, int],
    uploaded: int,
    outcome: str | None = None,
) -> None:
    state.remember(opts.registry().url, ds.id)
    output.status(opts, f"{output.label(ds)} is {ds.state.value}")
    if opts.json:
        from dataver.cli.schema import SyncOutput, VersionObject

        document = {
            "id": ds.id,
            "created": created,
            "changed": changed,
            **report,
            "uploaded_bytes": uploaded,
            "outcome": outcome or ("built" if created else "synced"),
            "version": VersionObject.of(ds),
        }
        output.emit(SyncOutput.model_validate(document))
    else:
        output.result(ds.id)
