"""``dataver ui``: serve the read-only Dataset Versions page of a registry."""

import errno
import socket
from typing import Annotated

import typer

from dataver.cli import output
from dataver.cli.base import Options, app, command
from dataver.cli.errors import CliError, CliUsageError
from dataver.cli.helptext import READ
from dataver.errors import ValidationError


@command(
    app,
    "ui",
    panel=READ,
    examples=[
        "dataver ui",
        "dataver ui --registry s3://bucket/registry --port 9000",
        "dataver ui --host 0.0.0.0  # reachable from other machines: no login, read-only",
        "dataver ui --allowed-host data.example.com  # its name behind a reverse proxy",
    ],
)
def ui(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, metavar="PORT", help="Port to listen on.")
    ] = 8765,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="Another host name the page answers to, e.g. its public name behind a proxy "
            "(repeatable; *.domain for the names below it, * for any). Always answered: "
            "localhost, 127.0.0.1, ::1, IP addresses, the --host name (this machine's name "
            "for 0.0.0.0) and DATAVER_UI_ALLOWED_HOSTS.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the Dataset Versions web page: datasets, lineage, files, diffs and previews.

    Read-only (every route is a GET) and on localhost unless --host says otherwise. Requests
    naming another host are refused (400), against DNS rebinding: behind a proxy, name the
    public host with --allowed-host. Deep links: /datasets/PROJECT/NAME and /versions/ID;
    the JSON API is documented at /api/docs. Stop with Ctrl+C.
    """
    try:
        import uvicorn

        from dataver.ui import create_app
        from dataver.ui.hosts import HostPolicy, served_names
    except ImportError as exc:
        raise CliError(
            f"the web page needs its extra packages ({exc.name} is missing)",
            hint='pip install "dataver[ui]"',
        ) from exc
    opts = Options.of(ctx)
    allowed = [*served_names(host), *(allowed_host or ())]
    try:
        HostPolicy.of(allowed)  # NOTE: a wrong option is reported before the registry is read
        web = create_app(opts.registry(), allowed_hosts=allowed)
    except ValidationError as exc:
        raise CliUsageError(
            str(exc), hint="fix --allowed-host or DATAVER_UI_ALLOWED_HOSTS"
        ) from exc
    registry = opts.registry()
    # NOTE: the port is taken before the URL is printed, and handed to uvicorn: a busy port
    # is one error line here, not a URL nobody serves followed by uvicorn's own exit code 3.
    sock = _listen(host, port)
    port = int(sock.getsockname()[1])  # NOTE: --port 0 takes a free port: print which
    address = f"http://{f'[{host}]' if ':' in host else host}:{port}/"  # NOTE: IPv6 in brackets
    if opts.json:
        from dataver.cli.schema import UiOutput

        output.emit(UiOutput(url=address, registry=registry.url))
    output.status(opts, f"serving {registry.url} at {address} (Ctrl+C stops)")
    server = uvicorn.Server(uvicorn.Config(web, log_level="warning"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # NOTE: Ctrl+C is how the page is stopped: uvicorn shuts down, then raises it again.
        output.status(opts, "stopped")
        return
    finally:
        sock.close()
    if not server.started:
        raise CliError(f"the web server did not start at {address}", hint=VERBOSE)


VERBOSE = "run again with --verbose for details"


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, as uvicorn binds it; a CliError if it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        what = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"cannot serve on {host}:{port}: the port is in use",
                hint="pass another --port (or --port 0 for any free one), or stop what uses it",
            ) from None
        raise CliError(
            f"cannot serve on {host}:{port}: {what.lower()}", hint="check --host and --port"
        ) from None
    sock.set_inheritable(True)
    return sock
