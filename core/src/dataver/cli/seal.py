"""Commands that store and seal a version: upload, close, finalize, publish, abort.

``upload`` stores the content added so far, ``finalize`` seals the version (Final), ``close``
does both; ``publish`` makes a Final version read-only for good; ``abort`` ends an unfinished
one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dataver.cli import output
from dataver.cli.base import (
    IdOption,
    MaxWorkersOption,
    OnConflictOption,
    Options,
    WaitWritersOption,
    app,
    close_version,
    command,
    interrupted_upload,
    load_version,
    warn_if_empty,
)
from dataver.cli.helptext import BUILD
from dataver.cli.progress import shown

if TYPE_CHECKING:
    from dataver.api.dataset import Dataset


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
    try:
        with shown(opts):
            stored = ds.upload(max_workers)
    except KeyboardInterrupt:
        raise interrupted_upload(ds, "upload") from None
    if opts.json:
        from dataver.cli.schema import UploadOutput

        output.emit(UploadOutput(id=ds.id, uploaded_bytes=stored))
        return
    output.result(f"uploaded {output.size(stored)} for {output.label(ds)} ({ds.id})")


@command(app, "close", panel=BUILD, examples=["dataver close", "dataver close --id 3f2a9c1e"])
def close(
    ctx: typer.Context,
    id: IdOption = None,
    max_workers: MaxWorkersOption = None,
    wait_for_writers: WaitWritersOption = 0.0,
    on_conflict: OnConflictOption = "error",
) -> None:
    """Upload what is pending and finalize: the version becomes final (immutable).

    Every writer's committed work is merged in (docs/scale.md).
    """
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    close_version(opts, ds, max_workers, wait_for_writers=wait_for_writers, on_conflict=on_conflict)
    _print_version(opts, ds, "finalized")


@command(app, "finalize", panel=BUILD, examples=["dataver finalize --id 3f2a9c1e"])
def finalize(
    ctx: typer.Context,
    id: IdOption = None,
    wait_for_writers: WaitWritersOption = 0.0,
    on_conflict: OnConflictOption = "error",
) -> None:
    """Seal an uploaded version (final). Refuses while content is not uploaded: see close.

    Every writer's committed work is merged in (docs/scale.md).
    """
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.finalize(wait_for_writers=wait_for_writers, on_conflict=on_conflict)  # type: ignore[arg-type]
    warn_if_empty(ds)
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
        from dataver.cli.schema import VersionObject

        output.emit(VersionObject.of(ds))
        return
    stats = ds.stats
    output.result(
        f"{done} {output.label(ds)} ({ds.id}): {output.count(stats.files, 'file')}, "
        f"{output.size(stats.logical_bytes)}, {output.size(stats.stored_bytes)} stored"
    )
