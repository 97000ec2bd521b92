"""The ASGI app: the JSON API under ``/api``; the page at ``/``, ``/datasets/..``, ``/versions/..``.

The page is one HTML file plus plain JavaScript and CSS shipped in the package (no build
step). It works at any mount point: the HTML carries a ``<base href>`` made from the ASGI
``root_path``, and every URL the script builds is relative to it.

It answers only to the host names it is served under (:mod:`dataver.ui.hosts`).
"""

from __future__ import annotations

import html
from importlib import resources
from importlib.util import find_spec
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

import dataver
from dataver.errors import (
    DataverError,
    IntegrityError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from dataver.settings import get_settings
from dataver.ui.api import router
from dataver.ui.catalog import Catalog
from dataver.ui.hosts import LOOPBACK, HostCheck, HostPolicy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from starlette.responses import Response

STATIC = resources.files("dataver.ui") / "static"
_SECURITY_HEADERS = {
    # NOTE: everything the page loads comes from itself; dataset content never runs as code.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    registry: dataver.Registry | str,
    *,
    title: str = "Dataset Versions",
    allowed_hosts: Iterable[str] = (),
) -> FastAPI:
    """The read-only Dataset Versions app for one registry.

    Args:
        registry: A :class:`dataver.Registry` or its URL.
        title: The page title.
        allowed_hosts: Host names the app answers to beyond ``localhost``, ``127.0.0.1``,
            ``::1`` and the names in ``DATAVER_UI_ALLOWED_HOSTS``: the name it is served
            under (``data.example.com``), ``*.example.com`` for the names below one, or
            ``*`` to answer any (for a server that checks hosts itself). Any other ``Host``
            is answered 400, against DNS rebinding; addresses are always answered.

    Returns:
        A FastAPI app; serve it with uvicorn or mount it in another app.

    Raises:
        ValidationError: A malformed allowed host name.

    Example:
        >>> from dataver.ui import create_app  # doctest: +SKIP
        >>> app = create_app("/data/registry")  # doctest: +SKIP
        >>> import uvicorn
        ...
        ... uvicorn.run(app, port=8765)  # doctest: +SKIP
    """
    configured = get_settings().ui_allowed_hosts.split(",")
    policy = HostPolicy.of([*LOOPBACK, *(n for n in configured if n.strip()), *allowed_hosts])
    reg = registry if isinstance(registry, dataver.Registry) else dataver.Registry(registry)
    app = FastAPI(
        title=f"dataver: {title}",
        version=dataver.__version__,
        # NOTE: FastAPI's own docs page loads Swagger UI from a CDN, with an inline script the
        # page's CSP forbids: blank offline, and blank online too. _add_docs serves it here.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.catalog = Catalog(reg)
    app.state.title = title
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _add_pages(app)
    _add_docs(app)
    _add_errors(app)
    app.middleware("http")(_security_headers)
    # NOTE: added last, so it runs first: a refused host reaches no route, static file or
    # handler, and the registry is never read for it.
    app.add_middleware(HostCheck, policy=policy)
    return app


def _html(name: str, title: str) -> Callable[[Request], HTMLResponse]:
    """A route serving the static HTML file ``name`` with its ``<base href>`` and title."""
    template = (STATIC / name).read_text(encoding="utf-8")

    def page(request: Request) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/") + "/"
        body = template.replace("{{base}}", html.escape(base, quote=True)).replace(
            "{{title}}", html.escape(title)
        )
        return HTMLResponse(body)

    return page


def _add_pages(app: FastAPI) -> None:
    page = _html("index.html", app.state.title)
    # NOTE: a project may hold "/" (team/vision): it is every segment before the name.
    for route in ("/", "/datasets/{project:path}/{name}", "/versions/{version_id}"):
        app.add_api_route(route, page, methods=["GET"], include_in_schema=False)


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at ``/api/docs``, from assets in the environment (``fastapi-offline``).

    The page works without the internet and under the app's CSP: no CDN, no inline script
    (``static/api-docs.js`` starts it). Without ``fastapi-offline`` (installed by the ``ui``
    extra) there is no ``/api/docs``; ``/api/openapi.json`` is served either way.
    """
    if find_spec("fastapi_offline") is None:
        return
    assets = resources.files("fastapi_offline") / "static"
    app.mount("/api/docs/assets", StaticFiles(directory=str(assets)), name="api-docs-assets")
    docs = _html("api-docs.html", app.title)
    app.add_api_route("/api/docs", docs, methods=["GET"], include_in_schema=False)


_STATUS: tuple[tuple[type[DataverError], int], ...] = (
    (NotFoundError, 404),
    (ValidationError, 400),
    (IntegrityError, 502),
    (StorageError, 502),
)


def _add_errors(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status)

    app.add_exception_handler(DataverError, on_error)


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for key, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response
