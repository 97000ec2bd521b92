"""Commands that look after a registry: gc (unused content) and fsck (consistency)."""

from typing import Annotated

import typer

from dataver.cli import output
from dataver.cli.base import Options, app, command
from dataver.cli.errors import CliError
from dataver.cli.helptext import MANAGE

# -------------------------------------------------------------------------------------- gc


@command(app, "gc", panel=MANAGE, examples=["dataver gc", "dataver gc --execute"])
def gc(
    ctx: typer.Context,
    execute: Annotated[
        bool, typer.Option("--execute", help="Delete (without it, only report: a dry run).")
    ] = False,
    grace_seconds: Annotated[
        float | None,
        typer.Option(
            "--grace-seconds",
            min=0,
            metavar="SECONDS",
            help="Keep objects younger than this (default: DATAVER_GC_GRACE_SECONDS, 3600).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Find registry content that no version uses any more, and delete it with --execute.

    Everything any version references is kept, and so is anything younger than the grace
    period (an upload in progress may not have recorded it yet).
    """
    opts = Options.of(ctx)
    plan = opts.registry().gc(dry_run=not execute, grace_seconds=grace_seconds)
    if opts.json:
        from dataver.cli.schema import GcOutput

        output.emit(
            GcOutput(
                dry_run=plan.dry_run,
                objects=len(plan.keys),
                freed_bytes=plan.freed_bytes,
                kept_objects=plan.kept_objects,
                keys=tuple(plan.keys),
            )
        )
        return
    what = f"{output.count(len(plan.keys), 'object')}, {output.size(plan.freed_bytes)}"
    if plan.dry_run:
        output.result(f"would delete {what} (dry run: pass --execute to delete)")
    else:
        output.result(f"deleted {what}")
    output.status(opts, f"kept {plan.kept_objects} objects in use or younger than the grace period")


# ------------------------------------------------------------------------------------ fsck


@command(
    app,
    "fsck",
    panel=MANAGE,
    examples=["dataver fsck", "dataver fsck --repair", "dataver fsck --json"],
)
def fsck(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Abort stale uploading versions, remove leftovers of interrupted writers and "
            "move hostile records to quarantine/ (nothing else), then check again.",
        ),
    ] = False,
    grace_seconds: Annotated[
        float | None,
        typer.Option(
            "--grace-seconds",
            min=0,
            metavar="SECONDS",
            help="Leave leftovers younger than this alone: a writer may still be at work "
            "(default: DATAVER_GC_GRACE_SECONDS, 3600).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check every record, name, manifest and stored object of the registry.

    Reports problems without changing anything. With --repair it makes only safe fixes and
    says what it did; damage (missing or corrupt manifests or content) is never touched. A
    record holding values dataver never writes (hostile-record) is checked no further and,
    with --repair, moved to quarantine/ with a note of why. Exits 1 while a problem remains.
    """
    opts = Options.of(ctx)
    report = opts.registry().fsck(repair=repair, grace_seconds=grace_seconds)
    if opts.json:
        from dataver.cli.schema import FsckOutput

        output.emit(FsckOutput.model_validate(report.as_dict()))
    else:
        for done in report.repaired:
            output.result(f"repaired  {done.kind:<18} {done.key}: {done.message}")
        for problem in report.problems:
            # NOTE: by severity, not by repairable: a hostile record is damage that
            # --repair quarantines, not a harmless leftover.
            label = "ERROR" if problem.severity == "error" else "leftover"
            output.result(f"{label:<9} {problem.kind:<18} {problem.key}: {problem.message}")
        output.status(
            opts,
            f"checked {output.count(report.versions, 'version')}, "
            f"{output.count(report.manifests, 'manifest object')}, "
            f"{report.entries} entries, "
            f"{output.count(report.content, 'content object')}",
        )
    if not report.ok:
        fixable = sum(p.repairable for p in report.problems)
        raise CliError(
            f"{output.count(len(report.problems), 'problem')} in {report.url}",
            hint="run 'dataver fsck --repair' to fix the leftovers and quarantine hostile records"
            if fixable
            else "fsck never repairs damage: restore the listed keys from a backup, or "
            "delete the damaged versions ('dataver delete --id ID')",
        )
    if not opts.json:
        output.result(f"registry is consistent: {report.url}")
