"""``dataver ui``: serve the read-only Dataset Versions page of a registry."""

from typing import Annotated

import typer

from dataver.cli import output
from dataver.cli.base import READ, Options, app, command
from dataver.cli.errors import CliError


@command(
    app,
    "ui",
    panel=READ,
    examples=[
        "dataver ui",
        "dataver ui --registry s3://bucket/registry --port 9000",
        "dataver ui --host 0.0.0.0  # reachable from other machines: no login, read-only",
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
) -> None:
    """Serve the Dataset Versions web page: datasets, lineage, files, diffs and previews.

    Read-only (every route is a GET) and on localhost unless --host says otherwise. Deep
    links: /datasets/PROJECT/NAME and /versions/ID; the JSON API is documented at /api/docs.
    Stop with Ctrl+C.
    """
    try:
        import uvicorn

        from dataver.ui import create_app
    except ImportError as exc:
        raise CliError(
            f"the web page needs its extra packages ({exc.name} is missing)",
            hint='pip install "dataver[ui]"',
        ) from exc
    opts = Options.of(ctx)
    registry = opts.registry()
    web = create_app(registry)
    address = f"http://{host}:{port}/"
    if opts.json:
        output.emit_json({"url": address, "registry": registry.url})
    output.status(opts, f"serving {registry.url} at {address} (Ctrl+C stops)")
    uvicorn.run(web, host=host, port=port, log_level="warning")
