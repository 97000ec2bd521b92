"""Commands that manage: squash, delete, rename, move, gc, metadata, tag, and the local cache."""

import json
from typing import Annotated, Any

import typer

from dataver import Cache, Dataset
from dataver.cache.local import parse_size
from dataver.cli import output, state
from dataver.cli.base import (
    CACHE,
    MANAGE,
    IdOption,
    Options,
    ProjectOption,
    app,
    cache_app,
    command,
    load_version,
    metadata_app,
    resolve_id,
    tag_app,
)
from dataver.cli.errors import CliError
from dataver.cli.params import byte_size, json_or_text

NameOption = Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Dataset name.")]

app.add_typer(
    cache_app, name="cache", rich_help_panel=CACHE, help="Inspect and prune the local cache."
)
app.add_typer(
    metadata_app, name="metadata", rich_help_panel=MANAGE, help="Read and change user metadata."
)
app.add_typer(tag_app, name="tag", rich_help_panel=MANAGE, help="Add and remove tags.")


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
        output.emit_json({"deleted": version_id})
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
        output.emit_json({"project": project, "name": name, "new_name": new_name})
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
        output.emit_json({"project": project, "name": name, "new_project": new_project})
    else:
        output.result(f"moved {project}/{name} to {new_project}/{name}")


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
        output.emit_json(
            {
                "dry_run": plan.dry_run,
                "objects": len(plan.keys),
                "freed_bytes": plan.freed_bytes,
                "kept_objects": plan.kept_objects,
                "keys": list(plan.keys),
            }
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
        output.emit_json(report.as_dict())
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


# ----------------------------------------------------------------------------------- cache


@command(cache_app, "info", examples=["dataver cache info", "dataver cache info --json"])
def cache_info(ctx: typer.Context) -> None:
    """Show what the local cache holds: versions (trees), blobs, sizes and last use."""
    opts = Options.of(ctx)
    info = Cache().info()
    if opts.json:
        output.emit_json(info.model_dump(mode="json"))
        return
    output.show(
        output.table(
            ["DATASET", "VERSION", "ID", "SUBSET", "FILES", "SIZE", "OWN", "LAST USED", "IN USE"],
            (
                [
                    f"{t.project}/{t.dataset}",
                    t.version,
                    output.short(t.version_id),
                    ", ".join(t.patterns) or "-",
                    str(t.files),
                    output.size(t.logical_bytes),
                    output.size(t.own_bytes),
                    output.when(t.last_used),
                    "yes" if t.in_use else "",
                ]
                for t in info.trees
            ),
            right=("FILES", "SIZE", "OWN"),
        )
    )
    output.result(
        f"{info.root}: {output.size(info.total_bytes)} in {output.count(info.blob_count, 'blob')} "
        f"({output.size(info.unlinked_blob_bytes)} used by no tree), "
        f"{output.count(len(info.trees), 'tree')}, "
        f"{output.count(len(info.leftovers), 'leftover')}"
    )


@command(
    cache_app,
    "prune",
    examples=["dataver cache prune --max-size 50GB", "dataver cache prune --max-size 0 --dry-run"],
)
def cache_prune(
    ctx: typer.Context,
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            metavar="SIZE",
            help="Evict least recently used content down to SIZE (e.g. 50GB, 1.5GiB, 0). "
            "Without it, only leftovers of killed processes are removed.",
            callback=byte_size,
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report what would be removed.")
    ] = False,
) -> None:
    """Evict cached versions, least recently used first; versions in use are kept."""
    opts = Options.of(ctx)
    cache = Cache()
    plan = cache.plan_prune(parse_size(max_size))
    done = plan if dry_run else cache.prune(plan)
    if opts.json:
        output.emit_json({"dry_run": dry_run, **done.model_dump(mode="json")})
        return
    verb = "would free" if dry_run else "freed"
    output.result(
        f"{verb} {output.size(done.freed_bytes)}: {output.count(len(done.trees), 'tree')}, "
        f"{output.count(len(done.blobs), 'blob')}, {output.count(len(done.leftovers), 'leftover')}"
        + (f"; kept {len(done.kept_in_use)} trees in use" if done.kept_in_use else "")
    )


# -------------------------------------------------------------------------------- metadata

KeyArgument = Annotated[
    str, typer.Argument(metavar="KEY", help="Metadata key.", show_default=False)
]


@command(
    metadata_app,
    "get",
    examples=["dataver metadata get", "dataver metadata get owner --id 3f2a9c1e"],
)
def metadata_get(
    ctx: typer.Context,
    key: Annotated[
        str | None,
        typer.Argument(metavar="KEY", help="One key (default: all metadata).", show_default=False),
    ] = None,
    id: IdOption = None,
) -> None:
    """Print a version's metadata, or the value of one key (strings unquoted)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    metadata = ds.metadata
    if key is None:
        if opts.json:
            output.emit_json({"id": ds.id, "metadata": metadata})
        else:
            for name, value in metadata.items():
                output.result(f"{name}: {_text(value)}")
        return
    if key not in metadata:
        raise CliError(
            f"version {ds.id} has no metadata key {key!r}",
            hint=f"list its keys with 'dataver metadata get --id {ds.id}'",
        )
    if opts.json:
        output.emit_json({"id": ds.id, "key": key, "value": metadata[key]})
    else:
        output.result(_text(metadata[key]))


@command(
    metadata_app,
    "set",
    examples=[
        "dataver metadata set owner alice",
        "dataver metadata set rows 1200 --id 3f2a9c1e",
        "dataver metadata set split '{\"train\": 0.8}'",
    ],
)
def metadata_set(
    ctx: typer.Context,
    key: KeyArgument,
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE",
            help='A JSON value (1200, true, [1, 2], {...}, "text") or else plain text.',
            show_default=False,
        ),
    ],
    id: IdOption = None,
    string: Annotated[
        bool, typer.Option("--string", help="Store VALUE as text even if it parses as JSON.")
    ] = False,
) -> None:
    """Set one metadata key of an uploading or final version (published ones are read-only)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.set_metadata({**ds.metadata, key: value if string else json_or_text(value)})
    _print_metadata(opts, ds, f"set {key}")


@command(metadata_app, "unset", examples=["dataver metadata unset owner"])
def metadata_unset(ctx: typer.Context, key: KeyArgument, id: IdOption = None) -> None:
    """Remove one metadata key (a missing key is not an error)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    metadata = ds.metadata
    if key in metadata:
        del metadata[key]
        ds.set_metadata(metadata)
    _print_metadata(opts, ds, f"unset {key}")


def _print_metadata(opts: Options, ds: Dataset, done: str) -> None:
    if opts.json:
        output.emit_json({"id": ds.id, "metadata": ds.metadata})
    else:
        output.result(f"{done} on {output.label(ds)} ({ds.id})")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# ------------------------------------------------------------------------------------- tag

TagsArgument = Annotated[list[str], typer.Argument(metavar="TAG", help="Tags.", show_default=False)]


@command(
    tag_app,
    "add",
    examples=["dataver tag add nightly reviewed", "dataver tag add best --id 3f2a9c1e"],
)
def tag_add(ctx: typer.Context, tags: TagsArgument, id: IdOption = None) -> None:
    """Add tags to an uploading or final version."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.add_tags(*tags)
    _print_tags(opts, ds)


@command(tag_app, "remove", examples=["dataver tag remove nightly"])
def tag_remove(ctx: typer.Context, tags: TagsArgument, id: IdOption = None) -> None:
    """Remove tags from an uploading or final version (missing tags are ignored)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    ds.remove_tags(*tags)
    _print_tags(opts, ds)


def _print_tags(opts: Options, ds: Dataset) -> None:
    if opts.json:
        output.emit_json({"id": ds.id, "tags": list(ds.tags)})
    else:
        output.result(f"{output.label(ds)} ({ds.id}): {', '.join(ds.tags) or 'no tags'}")
