"""``dataver show``: one version, every field of its record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from dataver.cli import output
from dataver.cli.base import IdOption, Options, app, command, escape, load_version
from dataver.cli.helptext import READ
from dataver.errors import VersionNotFoundError
from dataver.versions.state import State

if TYPE_CHECKING:
    from rich.table import Table

    from dataver.api.dataset import Dataset


@command(app, "show", panel=READ, examples=["dataver show", "dataver show --id 3f2a9c1e --json"])
def show(ctx: typer.Context, id: IdOption = None) -> None:
    """Show one version: state, parents, stats, tags, metadata and run provenance."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    details = describe(ds)
    if opts.json:
        from dataver.cli.schema import ShowOutput

        output.emit(ShowOutput.model_validate(details))
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


def _details_table(ds: Dataset, details: dict[str, Any]) -> Table:
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
        ("state", output.state_of(ds)),
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
