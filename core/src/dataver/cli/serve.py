"""``dataver ui``: serve the read-only Dataset Versions page of a registry."""

from typing import Annotated

import typer

from dataver.cli import output
from dataver.cli.base import READ, Options, app, command
from dataver.cli.errors import CliError, CliUsageError
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
        from dataver.ui.hosts import served_names
    except ImportError as exc:
        raise CliError(
            f"the web page needs its extra packages ({exc.name} is missing)",
            hint='pip install "dataver[ui]"',
        ) from exc
    opts = Options.of(ctx)
    registry = opts.registry()
    try:
        web = create_app(registry, allowed_hosts=[*served_names(host), *(allowed_host or ())])
    except ValidationError as exc:
        raise CliUsageError(
            str(exc), hint="fix --allowed-host or DATAVER_UI_ALLOWED_HOSTS"
        ) from exc
    address = f"http://{f'[{host}]' if ':' in host else host}:{port}/"  # NOTE: IPv6 in brackets
    if opts.json:
        from dataver.cli.schema import UiOutput

        output.emit(UiOutput(url=address, registry=registry.url))
    output.status(opts, f"serving {registry.url} at {address} (Ctrl+C stops)")
    uvicorn.run(web, host=host, port=port, log_level="warning")
