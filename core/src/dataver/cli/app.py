"""The ``dataver`` program: global options, the command tree, and exit codes scripts can trust.

:func:`main` runs the program (the console script starts it through ``_dataver_cli``, which
catches a Ctrl-C while Python imports it). It expands multi-value options, runs the command
tree built by :func:`build_cli`, and turns every failure into one ``error:`` line (plus a
``hint:`` line) on stderr and an exit code: 0 success, 1 the operation failed, 2 the command
line is wrong, 130 interrupted. A traceback is printed only with ``--verbose``.
"""

import copy
import importlib
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import typer

import dataver
from dataver.cli.base import AGAIN, Options, app, unwrap
from dataver.cli.errors import FAILED, INTERRUPTED, OK, USAGE, CliError, hint_for, one_line
from dataver.cli.helptext import GLOBAL, MANAGE, PANELS, panel_of
from dataver.cli.params import expand_multi_value
from dataver.errors import DataverError

PROG = "dataver"

COMMAND_MODULES = (
    # Build a version
    "build",  # create, add, remove
    "sync",  # sync
    "seal",  # upload, close, finalize, publish, abort
    "partition",  # partition
    # Read versions
    "read",  # list, search, ls
    "show",  # show
    "get",  # get, verify
    "history",  # diff, lineage
    "serve",  # ui
    # Manage datasets
    "admin",  # squash, delete, rename, move
    "upkeep",  # gc, fsck
    "metadata",  # metadata get|set|unset, tag add|remove
    # Local cache
    "cache",  # cache info, cache prune
)
"""The modules of :mod:`dataver.cli` that define commands, one family each. Importing one
registers its commands; within a panel of ``dataver --help`` (and docs/cli.md) they are listed
in this order, so it is spelled out here rather than left to the sorting of an import line.
NOTE: a command module imports no other one (what they share is in :mod:`.base`): importing
one would register the other's commands first."""
for _module in COMMAND_MODULES:
    importlib.import_module(f"dataver.cli.{_module}")


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"{PROG} {dataver.__version__}\n")
        raise typer.Exit(OK)


HELP = """dataver: dataset versions without a server; the registry lives in your storage.

Build a version like clearml-data (create, add, close), or in one step (sync); read it
anywhere (get). Commands given no --id work on the current version: the last one that
create, sync or squash made on this machine in the same registry. Global options work
before or after the command.
"""


@app.callback(help=unwrap(HELP))
def main_options(
    ctx: typer.Context,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            "-r",
            metavar="URL",
            help="Registry URL: a folder, s3://bucket/prefix or any fsspec URL "
            "(default: DATAVER_REGISTRY, else the embedded local registry).",
            rich_help_panel=GLOBAL,
            show_default=False,
        ),
    ] = None,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the result as JSON (stable keys, see docs/cli.md).",
            rich_help_panel=GLOBAL,
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress and no status lines; results and errors only.",
            rich_help_panel=GLOBAL,
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Debug logging, and a traceback with every error.",
            rich_help_panel=GLOBAL,
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version of dataver and exit.",
            callback=_show_version,
            is_eager=True,
            rich_help_panel=GLOBAL,
        ),
    ] = False,
) -> None:
    """Record the global options for the command that runs."""
    del version
    opts = Options.of(ctx)
    opts.registry_url = registry or opts.registry_url
    opts.json = json_ or opts.json
    opts.quiet = quiet or opts.quiet
    opts.verbose = verbose or opts.verbose


def _set_global(ctx: Any, param: Any, value: Any) -> Any:
    """Callback of a global option given after the command: record it if it was given."""
    if value:
        opts = ctx.find_object(Options)
        if opts is not None:
            setattr(opts, "registry_url" if param.name == "registry" else param.name, value)
    return value


def build_cli() -> Any:
    """The click command tree of ``dataver``, each command also taking the global options."""
    root: Any = typer.main.get_command(app)
    shared = [p for p in root.params if p.name in {"registry", "json_", "quiet", "verbose"}]
    for leaf in _leaves(root):
        for param in shared:
            clone = copy.copy(param)
            clone.name = "json" if param.name == "json_" else param.name
            clone.expose_value = False
            clone.callback = _set_global
            leaf.params.append(clone)
    commands = sorted(root.commands.items(), key=lambda item: PANELS.index(_panel(item[1])))
    root.commands = dict(commands)
    return root


def _panel(command: Any) -> str:
    panel = panel_of(command)
    return panel if panel in PANELS else MANAGE


def _leaves(command: Any) -> Iterator[Any]:
    children = getattr(command, "commands", None)
    if children is None:
        yield command
        return
    for child in children.values():
        yield from _leaves(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dataver`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    opts = Options()
    verbose = False
    try:
        args = expand_multi_value(list(sys.argv[1:] if argv is None else argv))
        verbose = _asks_verbose(args)
        if verbose:
            _debug_logging()
        code = build_cli().main(args=args, prog_name=PROG, standalone_mode=False, obj=opts)
    except typer.TyperException as exc:
        return _usage_error(exc)
    except typer.Abort:
        return _fail("aborted", None, verbose)
    except CliError as exc:
        return _fail(exc.message, exc.hint, opts.verbose or verbose, exc.exit_code)
    except DataverError as exc:
        return _fail(one_line(str(exc)), hint_for(exc), opts.verbose or verbose)
    except KeyboardInterrupt:
        return _fail("interrupted", AGAIN, opts.verbose or verbose, INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - every failure must end as one line and exit 1
        text = f"{type(exc).__name__}: {one_line(str(exc))}"
        return _fail(text, "run again with --verbose for the traceback", opts.verbose or verbose)
    if code == INTERRUPTED:
        # NOTE: typer turns a KeyboardInterrupt outside a command's body (parsing the
        # options) into a quiet exit code 130: say it, as for one inside.
        return _fail("interrupted", AGAIN, False, INTERRUPTED)
    return code if isinstance(code, int) else OK


def _asks_verbose(args: list[str]) -> bool:
    options = args[: args.index("--")] if "--" in args else args
    return "--verbose" in options or "-v" in options


def _debug_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("dataver")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _usage_error(exc: typer.TyperException) -> int:
    """A usage error: one line naming it, and where to read the usage."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        # NOTE: the help of a bare `dataver` (or `dataver cache`) is what was asked for:
        # stdout, like `--help`, though the exit code says no command ran.
        sys.stdout.write(exc.format_message() + "\n")
        return USAGE
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else PROG
    message = one_line(exc.format_message()) or "invalid command line"
    code = exc.exit_code if exc.exit_code != OK else USAGE
    return _fail(message, f"see '{where} --help'", False, code)


def _fail(message: str, hint: str | None, verbose: bool, code: int = FAILED) -> int:
    if verbose and sys.exc_info()[0] is not None:
        traceback.print_exc(file=sys.stderr)
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()
    return code
