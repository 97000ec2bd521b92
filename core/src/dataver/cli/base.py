"""What every command shares: the typer apps, the global options, version look-ups.

The command modules (:data:`dataver.cli.app.COMMAND_MODULES`) register their commands on the
apps defined here; :mod:`.app` turns them into the ``dataver`` program.
"""

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import typer

from dataver import Dataset, DataverError, Registry, State, VersionNotFoundError
from dataver.cli import output, state
from dataver.cli.errors import CliError, CliUsageError
from dataver.cli.progress import shown
from dataver.scan import Symlinks

F = TypeVar("F", bound=Callable[..., Any])

# Panels of ``dataver --help``, in the order they are shown.
BUILD = "Build a version"
READ = "Read versions"
MANAGE = "Manage datasets"
CACHE = "Local cache"
GLOBAL = "Global options"

READABLE = (State.FINAL, State.PUBLISHED)
"""The states a version can be read (``get``) in."""

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="dataver",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)
cache_app = typer.Typer(no_args_is_help=True, context_settings=CONTEXT)
metadata_app = typer.Typer(no_args_is_help=True, context_settings=CONTEXT)
tag_app = typer.Typer(no_args_is_help=True, context_settings=CONTEXT)


@dataclass
class Options:
    """The global options of one run, and the registry they select (opened on first use)."""

    registry_url: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    _registry: Registry | None = field(default=None, repr=False)

    @classmethod
    def of(cls, ctx: typer.Context) -> "Options":
        """The options of the run that ``ctx`` belongs to."""
        found = ctx.find_object(Options)
        return found if found is not None else ctx.ensure_object(Options)

    def registry(self) -> Registry:
        """The registry of ``--registry`` (default: ``DATAVER_REGISTRY``, else the embedded one)."""
        if self._registry is None:
            self._registry = Registry(self.registry_url)
        return self._registry


def command(
    parent: typer.Typer, name: str, *, examples: Sequence[str], panel: str | None = None
) -> Callable[[F], F]:
    """Register a command: help from its docstring, then its ``examples`` (shell lines)."""
    epilog = "[b]Examples[/b]\n\n" + "\n\n".join(f"$ {escape(e)}" for e in examples)

    def register(func: F) -> F:
        text = unwrap(inspect.getdoc(func) or "")
        registered: F = parent.command(name, help=text, rich_help_panel=panel, epilog=epilog)(func)
        return registered

    return register


def unwrap(doc: str) -> str:
    """Join the hard-wrapped lines of each paragraph (help is re-wrapped to the terminal)."""
    return "\n\n".join(" ".join(p.split()) for p in doc.split("\n\n") if p.strip())


def escape(text: str) -> str:
    """Escape rich markup (``[...]``) in help text."""
    return text.replace("[", "\\[")


# ----------------------------------------------------------------------------- shared options

IdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        metavar="ID",
        help="Version id, or a unique prefix of one. Default: the current version "
        "(the last one created by this machine's dataver in this registry).",
        show_default=False,
    ),
]
ProjectOption = Annotated[
    str, typer.Option("--project", "-p", metavar="PROJECT", help="Project of the dataset.")
]
DatasetFolderOption = Annotated[
    str,
    typer.Option(
        "--dataset-folder",
        metavar="FOLDER",
        help="Folder inside the dataset to put the files in (default: the root).",
    ),
]
SymlinksOption = Annotated[
    Symlinks,
    typer.Option(
        "--symlinks",
        metavar="POLICY",
        help="Symbolic links that lead outside the folder: refuse (fail, naming them, before "
        "anything changes), follow (add what they lead to) or skip (leave them out). Links "
        "inside it are stored as their target's content.",
    ),
]
MaxWorkersOption = Annotated[
    int | None,
    typer.Option(
        "--max-workers",
        min=1,
        metavar="N",
        help="Parallel transfers (default: DATAVER_MAX_WORKERS, 8).",
        show_default=False,
    ),
]


# ----------------------------------------------------------------------------- version ids

_FULL_ID = re.compile(r"[0-9a-f]{32}")
_PREFIX = re.compile(r"[0-9a-f]{4,31}")


def resolve_id(registry: Registry, value: str) -> str:
    """Turn a full id or a unique id prefix (4+ hex characters) into a full id.

    Anything else is passed through; the registry then reports it as unknown.
    """
    value = value.strip().lower()
    if _FULL_ID.fullmatch(value) or not _PREFIX.fullmatch(value):
        return value
    matches = sorted({d.id for d in registry.list() if d.id.startswith(value)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise VersionNotFoundError(f"no version with id {value!r}", version_id=value)
    raise CliUsageError(
        f"id prefix {value!r} matches {len(matches)} versions ({', '.join(matches[:3])}, ...)",
        hint="give more characters of the id",
    )


def current_id(opts: Options, value: str | None) -> str:
    """The version a command works on: ``--id`` if given, else the remembered current one."""
    registry = opts.registry()
    if value is not None:
        return resolve_id(registry, value)
    remembered = state.current(registry.url)
    if remembered is None:
        raise CliUsageError(
            "no version given and no current version for this registry",
            hint="pass --id ID, or run 'dataver create' first (it remembers the version)",
        )
    return remembered


def load_version(opts: Options, value: str | None) -> Dataset:
    """Load the selected version in whatever state it is (commands check the state they need)."""
    version_id = current_id(opts, value)
    try:
        return opts.registry().get(version_id, states=None)
    except VersionNotFoundError as exc:
        if value is not None:
            raise
        raise CliError(
            f"the current version {version_id} no longer exists in {opts.registry().url}",
            hint="pass --id ID (find one with 'dataver search')",
        ) from exc


# ----------------------------------------------------------------------------- closing


def close_version(opts: Options, ds: Dataset, max_workers: int | None) -> int:
    """Upload and finalize; return the bytes newly stored. On failure, say how to resume."""
    if ds.state is not State.UPLOADING:
        ds.finalize()  # refused with the SDK's own words: "cannot finalize version ..."
    try:
        with shown(opts):
            uploaded = ds.upload(max_workers)
        ds.finalize()
    except DataverError:
        if ds.state is State.UPLOADING:
            output.status(opts, f"{ds.id} is still uploading: 'dataver close --id {ds.id}' resumes")
        raise
    return uploaded
