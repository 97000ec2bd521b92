"""What every command shares: the typer apps, the global options, version look-ups.

The command modules (:data:`dataver.cli.app.COMMAND_MODULES`) register their commands on the
apps defined here; :mod:`.app` turns them into the ``dataver`` program.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from dataver.cli import output, state
from dataver.cli.errors import CliError, CliInterruptedError, CliUsageError
from dataver.cli.helptext import (
    PanelCommand,
    PanelGroup,
    examples_epilog,
)
from dataver.cli.progress import shown
from dataver.errors import DataverError, VersionNotFoundError
from dataver.policies import Symlinks
from dataver.versions.state import State

if TYPE_CHECKING:
    from dataver.api.dataset import Dataset
    from dataver.api.registry import Registry
    from dataver.versions.records import VersionRecord

F = TypeVar("F", bound=Callable[..., Any])


READABLE = (State.FINAL, State.PUBLISHED)
"""The states a version can be read (``get``) in."""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}
"""Help is wrapped to the terminal, up to 120 columns (click stops at 80 by default)."""

app = typer.Typer(
    name="dataver",
    cls=PanelGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)


def _sub_app() -> typer.Typer:
    return typer.Typer(
        cls=PanelGroup, no_args_is_help=True, rich_markup_mode=None, context_settings=CONTEXT
    )


cache_app = _sub_app()
metadata_app = _sub_app()
tag_app = _sub_app()


@dataclass
class Options:
    """The global options of one run, and the registry they select (opened on first use)."""

    registry_url: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    _registry: Registry | None = field(default=None, repr=False)
    _was_new: bool = field(default=False, repr=False)

    @classmethod
    def of(cls, ctx: typer.Context) -> Options:
        """The options of the run that ``ctx`` belongs to."""
        found = ctx.find_object(Options)
        return found if found is not None else ctx.ensure_object(Options)

    def registry(self, *, creating: bool = False) -> Registry:
        """The registry of ``--registry`` (default: ``DATAVER_REGISTRY``, else the embedded one).

        It must exist (``RegistryNotFoundError`` names the location: a typo'd URL is an error,
        not an empty registry) unless the command is ``creating`` a version: then a location
        without a registry becomes one, and :func:`created_registry` says so.
        """
        if self._registry is None:
            from dataver.api.registry import Registry

            self._registry = Registry(self.registry_url, must_exist=not creating)
            self._was_new = not self._registry.exists()
        return self._registry

    def created_registry(self) -> None:
        """Say, once, that this command's write made the location a registry."""
        if self._registry is not None and self._was_new and self._registry.exists():
            self._was_new = False
            output.status(self, f"created a new registry at {self._registry.url}")


def command(
    parent: typer.Typer, name: str, *, examples: Sequence[str], panel: str | None = None
) -> Callable[[F], F]:
    """Register a command: help from its docstring, then its ``examples`` (shell lines)."""
    epilog = examples_epilog(examples)

    def register(func: F) -> F:
        text = unwrap(inspect.getdoc(func) or "")

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except KeyboardInterrupt:
                # NOTE: commands that leave a version behind say which state it is in
                # (CliInterruptedError); anything else changed nothing half-way.
                raise CliInterruptedError("interrupted", hint=AGAIN) from None

        parent.command(name, cls=PanelCommand, help=text, rich_help_panel=panel, epilog=epilog)(run)
        return func

    return register


AGAIN = "every write of dataver is atomic: run the command again to do the rest"


def unwrap(doc: str) -> str:
    """Join the hard-wrapped lines of each paragraph (help is re-wrapped to the terminal)."""
    return "\n\n".join(" ".join(p.split()) for p in doc.split("\n\n") if p.strip())


def escape(text: str) -> str:
    """Escape rich markup (``[...]``) in text that a rich table or tree renders."""
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
WriterOption = Annotated[
    str | None,
    typer.Option(
        "--writer",
        metavar="NAME",
        help="Add as this named writer, one of many building the version at once: the "
        "command is that writer's whole contribution; running it again with the same name "
        "(a retry) replaces it (docs/scale.md).",
        show_default=False,
    ),
]
PartOption = Annotated[
    str | None,
    typer.Option(
        "--part",
        metavar="JSON",
        help="Take only this part of the folder: one item printed by 'dataver partition "
        "--json', as JSON text or @FILE.",
        show_default=False,
    ),
]
WaitWritersOption = Annotated[
    float,
    typer.Option(
        "--wait-for-writers",
        min=0,
        metavar="SECONDS",
        help="Wait this long for writers still at work (default: refuse at once, naming them).",
    ),
]
OnConflictOption = Annotated[
    str,
    typer.Option(
        "--on-conflict",
        metavar="POLICY",
        help="Two writers gave a path different content: error (refuse, naming them) or "
        "writer-order (keep the content of the writer whose name sorts last).",
    ),
]


def read_part(text: str | None) -> dict[str, Any] | None:
    """The ``--part`` value: JSON text, or ``@FILE`` holding it."""
    if text is None:
        return None
    raw = text
    if text.startswith("@"):
        try:
            raw = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliUsageError(f"--part: cannot read {text[1:]}: {exc.strerror}") from None
    try:
        value = json.loads(raw)
    except ValueError:
        raise CliUsageError(
            "--part must be JSON (one item of 'dataver partition --json') or @FILE"
        ) from None
    if not isinstance(value, dict):
        raise CliUsageError("--part must be a JSON object (one item of 'dataver partition --json')")
    return value


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


def close_version(
    opts: Options,
    ds: Dataset,
    max_workers: int | None,
    *,
    wait_for_writers: float = 0.0,
    on_conflict: str = "error",
) -> int:
    """Upload and finalize; return the bytes newly stored. On failure, say how to resume."""
    if ds.state is not State.UPLOADING:
        ds.finalize()  # refused with the SDK's own words: "cannot finalize version ..."
    try:
        with shown(opts):
            uploaded = ds.upload(max_workers)
        ds.finalize(wait_for_writers=wait_for_writers, on_conflict=on_conflict)  # type: ignore[arg-type]
    except DataverError:
        if ds.state is State.UPLOADING:
            output.status(opts, f"{ds.id} is still uploading: 'dataver close --id {ds.id}' resumes")
        raise
    except KeyboardInterrupt:
        raise interrupted_upload(ds, "close") from None
    warn_if_empty(ds)
    return uploaded


def interrupted_upload(ds: Dataset, command: str) -> CliInterruptedError:
    """What Ctrl-C during ``upload`` or ``close`` left: the version's state, and what next."""
    state = _state_now(ds)
    if state is State.UPLOADING:
        return CliInterruptedError(
            f"interrupted: {output.label(ds)} ({ds.id}) is still uploading; the content "
            "stored so far is kept",
            hint=f"'dataver {command} --id {ds.id}' resumes (only what is missing is sent)",
        )
    return CliInterruptedError(
        f"interrupted, but {output.label(ds)} ({ds.id}) is already "
        f"{state.value if state else 'gone'}",
        hint=f"see 'dataver show --id {ds.id}'",
    )


def interrupted_change(ds: Dataset, before: VersionRecord, what: str) -> CliInterruptedError:
    """What Ctrl-C while ``what`` (adding files, syncing...) to an uploading version left."""
    label = f"{output.label(ds)} ({ds.id})"
    try:
        now = ds.reload().record
    except DataverError:
        now = before
    if (now.manifest, now.staged) == (before.manifest, before.staged):
        return CliInterruptedError(
            f"interrupted {what}: nothing changed in {label}, which is still uploading",
            hint="run the same command again",
        )
    return CliInterruptedError(
        f"interrupted after {what}: the changes are in {label} (uploading)",
        hint=f"check them with 'dataver list --id {ds.id} --modified'",
    )


def _state_now(ds: Dataset) -> State | None:
    try:
        return ds.reload().state
    except DataverError:
        return None


def warn_if_empty(ds: Dataset) -> None:
    """Warn when a version was sealed holding no file at all (see docs/cli.md)."""
    if ds.state in READABLE and ds.stats.files == 0:
        output.warn(f"{output.label(ds)} ({ds.id}) holds no files")
