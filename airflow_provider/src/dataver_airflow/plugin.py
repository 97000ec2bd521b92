"""``DataverPlugin``: the Dataset Versions web page inside Airflow's UI.

Mounts :func:`dataver.ui.create_app` in Airflow's API server at ``/dataver`` (``fastapi_apps``)
and adds a "Dataset Versions" entry to Airflow's navigation (``external_views``), so the
provider's extra link (``/dataver/versions/<id>``) opens inside Airflow.

The registry is that of the ``[dataver] ui_conn_id`` connection (default ``dataver_default``),
resolved on the first request rather than when the API server imports plugins: the server
starts even if the connection is missing, and the page names the problem instead.

The page has the same login and permissions as the rest of Airflow's UI: every request
(the page, its JSON API, file previews) is checked by Airflow's auth manager, as Airflow's own
routes are: the user comes from the ``Authorization: Bearer`` JWT or the UI's session cookie;
without one, a browser is sent to Airflow's login page (and back) and other clients get 401;
a user who may not read Airflow's assets (the dataver datasets are the provider's assets)
gets 403.

The page's Host check is off here by default (``[dataver] ui_allowed_hosts = *``): the page is
reached under whatever names the deployment routes to Airflow's API server, which answers any
Host itself; a deployment that wants the check lists its names in that option.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin

from dataver_airflow.links import UI_MOUNT

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

VIEW_NAME = "Dataset Versions"


def ui_conn_id() -> str:
    """The connection whose registry the page shows: ``[dataver] ui_conn_id``."""
    from airflow.configuration import conf

    return str(conf.get("dataver", "ui_conn_id", fallback="dataver_default"))


def ui_allowed_hosts() -> list[str]:
    """The Host names the page answers to: ``[dataver] ui_allowed_hosts``, comma-separated.

    ``*`` (the default) answers any: the names Airflow is reached by are the deployment's
    (an ingress, a proxy, a service name), and Airflow's API server itself checks none, so a
    list here could only break the page where Airflow works.
    """
    from airflow.configuration import conf

    value = str(conf.get("dataver", "ui_allowed_hosts", fallback="*"))
    return [name for name in value.split(",") if name.strip()] or ["*"]


class LazyDataverApp:
    """An ASGI app that builds the dataver web app on its first request.

    Args:
        conn_id: The dataver connection to read the registry from (default: :func:`ui_conn_id`).
    """

    def __init__(self, conn_id: str | None = None) -> None:
        self._conn_id = conn_id
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()

    def app(self) -> ASGIApp:
        """The web app, built once (a missing connection or extra raises, and is retried)."""
        with self._lock:
            if self._app is None:
                self._app = _build(self._conn_id or ui_conn_id())
            return self._app

    def reset(self) -> None:
        """Forget the built app: the next request reads the connection again."""
        with self._lock:
            self._app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = await refusal(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
        try:
            app = self.app()
        except Exception as exc:  # noqa: BLE001 - shown to the user, who can fix the connection
            app = _error_app(exc)
        await app(scope, receive, send)


async def refusal(scope: Scope) -> ASGIApp | None:
    """Airflow's auth manager on one request: None (go on), or the answer that refuses it.

    The user is the one Airflow's own routes see (``get_user``: the bearer token, else the
    session cookie, else one the auth manager's middleware attached); they must be allowed
    to read assets (``is_authorized_asset(method="GET")``). No user: a browser asking for a
    page is redirected to the login page, which brings it back; anything else gets 401.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import HTTPException
    from fastapi.security import HTTPAuthorizationCredentials
    from starlette.requests import Request
    from starlette.responses import JSONResponse, RedirectResponse

    request = Request(scope)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token else None
    try:
        user = await get_user(request, None, bearer)
    except HTTPException as exc:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if exc.status_code == 401 and wants_page:
            login = get_auth_manager().get_url_login(next_url=str(request.url))
            return RedirectResponse(login, status_code=307)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    if not get_auth_manager().is_authorized_asset(method="GET", user=user):
        return JSONResponse({"detail": "Forbidden"}, status_code=403)
    return None


def _build(conn_id: str) -> ASGIApp:
    from dataver.ui import create_app
    from dataver_airflow.hooks.dataver import DataverHook

    registry = DataverHook(dataver_conn_id=conn_id).get_registry()
    return create_app(registry, title=VIEW_NAME, allowed_hosts=ui_allowed_hosts())


def _error_app(exc: Exception) -> ASGIApp:
    from starlette.responses import PlainTextResponse

    message = (
        f"The dataver web page cannot open its registry: {exc}\n"
        f"Set up the dataver connection '{ui_conn_id()}' (or [dataver] ui_conn_id) and reload."
    )
    return PlainTextResponse(message, status_code=503)


class DataverPlugin(AirflowPlugin):
    """Registers the web page (``/dataver``) and its navigation entry."""

    name = "dataver"
    fastapi_apps: list[Any] = [  # noqa: RUF012 - AirflowPlugin's own attribute shape
        {"app": LazyDataverApp(), "url_prefix": f"/{UI_MOUNT}", "name": VIEW_NAME}
    ]
    external_views: list[Any] = [  # noqa: RUF012
        {
            "name": VIEW_NAME,
            # NOTE: relative (no leading slash): Airflow resolves it against its base URL, so
            # the entry works behind a proxy or under a sub-path.
            "href": f"{UI_MOUNT}/",
            "destination": "nav",
            "category": "browse",
            "url_route": UI_MOUNT,
        }
    ]
