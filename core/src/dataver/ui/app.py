"""The ASGI app: the JSON API under ``/api``; the page at ``/``, ``/datasets/..``, ``/versions/..``.

The page is one HTML file plus plain JavaScript and CSS shipped in the package (no build
step). It works at any mount point: the HTML carries a ``<base href>`` made from the ASGI
``root_path``, and every URL the script builds is relative to it.
"""

from __future__ import annotations

import html
from importlib import resources
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
from dataver.ui.api import router
from dataver.ui.catalog import Catalog

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

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


def create_app(registry: dataver.Registry | str, *, title: str = "Dataset Versions") -> FastAPI:
    """The read-only Dataset Versions app for one registry.

    Args:
        registry: A :class:`dataver.Registry` or its URL.
        title: The page title.

    Returns:
        A FastAPI app; serve it with uvicorn or mount it in another app.

    Example:
        >>> from dataver.ui import create_app  # doctest: +SKIP
        >>> app = create_app("/data/registry")  # doctest: +SKIP
        >>> import uvicorn
        ...
        ... uvicorn.run(app, port=8765)  # doctest: +SKIP
    """
    reg = registry if isinstance(registry, dataver.Registry) else dataver.Registry(registry)
    app = FastAPI(
        title=f"dataver: {title}",
        version=dataver.__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.catalog = Catalog(reg)
    app.state.title = title
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _add_pages(app)
    _add_errors(app)
    app.middleware("http")(_security_headers)
    return app


def _add_pages(app: FastAPI) -> None:
    template = (STATIC / "index.html").read_text(encoding="utf-8")

    def page(request: Request) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/") + "/"
        body = template.replace("{{base}}", html.escape(base, quote=True)).replace(
            "{{title}}", html.escape(app.state.title)
        )
        return HTMLResponse(body)

    for route in ("/", "/datasets/{project}/{name}", "/versions/{version_id}"):
        app.add_api_route(route, page, methods=["GET"], include_in_schema=False)


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
