"""``dataver cache``: inspect and prune the local cache."""

from __future__ import annotations

from typing import Annotated

import typer

from dataver.cli import output
from dataver.cli.base import Options, app, cache_app, command
from dataver.cli.helptext import CACHE
from dataver.cli.params import byte_size

app.add_typer(
    cache_app, name="cache", rich_help_panel=CACHE, help="Inspect and prune the local cache."
)


@command(cache_app, "info", examples=["dataver cache info", "dataver cache info --json"])
def cache_info(ctx: typer.Context) -> None:
    """Show what the local cache holds: versions (trees), blobs, sizes and last use."""
    opts = Options.of(ctx)
    from dataver.cache.local import Cache

    info = Cache().info()
    if opts.json:
        from dataver.cli.schema import CacheInfoOutput

        output.emit(CacheInfoOutput.model_validate(info.model_dump()))
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
    examples=["dataver cache prune --max-size 50GiB", "dataver cache prune --max-size 0 --dry-run"],
)
def cache_prune(
    ctx: typer.Context,
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            metavar="SIZE",
            help="Evict least recently used content down to SIZE (e.g. 50GiB, 500MiB, 0; "
            "decimal units such as 50GB are read too). "
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
    from dataver.cache.local import Cache, parse_size

    cache = Cache()
    plan = cache.plan_prune(parse_size(max_size))
    done = plan if dry_run else cache.prune(plan)
    if opts.json:
        from dataver.cli.schema import CachePruneOutput

        output.emit(CachePruneOutput.model_validate({"dry_run": dry_run, **done.model_dump()}))
        return
    verb = "would free" if dry_run else "freed"
    output.result(
        f"{verb} {output.size(done.freed_bytes)}: {output.count(len(done.trees), 'tree')}, "
        f"{output.count(len(done.blobs), 'blob')}, {output.count(len(done.leftovers), 'leftover')}"
        + (f"; kept {len(done.kept_in_use)} trees in use" if done.kept_in_use else "")
    )
