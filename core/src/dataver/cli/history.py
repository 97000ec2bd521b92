"""Commands that relate versions: diff (what changed) and lineage (the ancestors)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataver.cli import output
from dataver.cli.base import (
    IdOption,
    Options,
    app,
    command,
    current_id,
    escape,
    load_version,
    resolve_id,
)
from dataver.cli.helptext import READ
from dataver.errors import VersionNotFoundError

if TYPE_CHECKING:
    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry

# ------------------------------------------------------------------------------------ diff


@command(
    app,
    "diff",
    panel=READ,
    examples=["dataver diff --source 3f2a9c1e --target 9c1e0b7d", "dataver diff --target 9c1e0b7d"],
)
def diff(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="ID",
            help="The version to compare from (default: the target's parents).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="ID",
            help="The version to compare (default: the current version).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show what changed from one version to another: added, removed, modified, renamed.

    Exits 0 whether or not there are differences.
    """
    opts = Options.of(ctx)
    registry = opts.registry()
    new = registry.get(current_id(opts, target), states=None)
    old = resolve_id(registry, source) if source is not None else None
    changes = new.diff(old)
    if opts.json:
        from dataver.cli.schema import DiffOutput

        output.emit(
            DiffOutput(
                source=old,
                target=new.id,
                added=changes.added,
                removed=changes.removed,
                modified=changes.modified,
                renamed=changes.renamed,
            )
        )
        return
    lines = [f"+ {p}" for p in changes.added]
    lines += [f"- {p}" for p in changes.removed]
    lines += [f"M {p}" for p in changes.modified]
    lines += [f"R {old_path} -> {new_path}" for old_path, new_path in changes.renamed]
    if lines:
        output.result("\n".join(lines))
    counts = (
        f"{len(changes.added)} added, {len(changes.removed)} removed, "
        f"{len(changes.modified)} modified, {len(changes.renamed)} renamed"
    )
    base = f"version {old}" if old else "its parents"
    output.status(opts, f"{output.label(new)} against {base}: {counts}")


# --------------------------------------------------------------------------------- lineage


@command(
    app, "lineage", panel=READ, examples=["dataver lineage", "dataver lineage --id 9c1e0b7d --json"]
)
def lineage(ctx: typer.Context, id: IdOption = None) -> None:
    """Show a version and its ancestors as a tree (parents below their children)."""
    opts = Options.of(ctx)
    ds = load_version(opts, id)
    graph = ds.lineage()
    known = dict(_load_all(ds.registry, graph))
    if opts.json:
        from dataver.cli.schema import LineageOutput, VersionObject

        versions = {k: (VersionObject.of(v) if v else None) for k, v in known.items()}
        output.emit(
            LineageOutput.model_validate({"id": ds.id, "parents": graph, "versions": versions})
        )
        return
    from rich.tree import Tree

    root = Tree(_node(ds.id, known[ds.id]))
    _grow(root, ds.id, graph, known, {ds.id})
    output.show(root)


def _load_all(registry: Registry, ids: Iterable[str]) -> Iterator[tuple[str, Dataset | None]]:
    for version_id in ids:
        try:
            yield version_id, registry.get(version_id, states=None)
        except VersionNotFoundError:
            yield version_id, None


def _grow(
    node: Any,
    version_id: str,
    graph: dict[str, list[str]],
    known: dict[str, Dataset | None],
    shown_ids: set[str],
) -> None:
    for parent in graph.get(version_id, []):
        if parent in shown_ids:
            node.add(_node(parent, known.get(parent)) + " (see above)")
            continue
        shown_ids.add(parent)
        _grow(node.add(_node(parent, known.get(parent))), parent, graph, known, shown_ids)


def _node(version_id: str, ds: Dataset | None) -> str:
    if ds is None:
        return f"{output.short(version_id)}  (deleted)"
    return escape(f"{output.label(ds)}  {ds.state.value}  {output.short(version_id)}")
