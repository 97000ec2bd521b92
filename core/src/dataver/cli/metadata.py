"""Commands that annotate a version: metadata (get, set, unset) and tags (add, remove)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataver.cli import output
from dataver.cli.base import IdOption, Options, app, command, load_version, metadata_app, tag_app
from dataver.cli.errors import CliError
from dataver.cli.helptext import MANAGE
from dataver.cli.params import json_or_text

if TYPE_CHECKING:
    from dataver.api.dataset import Dataset

app.add_typer(
    metadata_app, name="metadata", rich_help_panel=MANAGE, help="Read and change user metadata."
)
app.add_typer(tag_app, name="tag", rich_help_panel=MANAGE, help="Add and remove tags.")


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
            from dataver.cli.schema import MetadataAllOutput

            output.emit(MetadataAllOutput(id=ds.id, metadata=metadata))
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
        from dataver.cli.schema import MetadataValueOutput

        output.emit(MetadataValueOutput(id=ds.id, key=key, value=metadata[key]))
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
        from dataver.cli.schema import MetadataOutput

        output.emit(MetadataOutput(id=ds.id, metadata=ds.metadata))
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
        from dataver.cli.schema import TagsOutput

        output.emit(TagsOutput(id=ds.id, tags=tuple(ds.tags)))
    else:
        output.result(f"{output.label(ds)} ({ds.id}): {', '.join(ds.tags) or 'no tags'}")
