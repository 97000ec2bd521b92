"""``DataverPlugin``: the Dataset Versions web page inside Airflow's UI.

Mounts :func:`dataver.ui.create_app` in Airflow's API server at ``/dataver`` (``fastapi_apps``)
and adds a "Dataset Versions" entry to Airflow's navigation (``external_views``), so the
provider's extra link (``/dataver/versions/<id>``) opens inside Airflow.

The registry is that of the ``[dataver] ui_conn_id`` connection (default ``dataver_default``),
resolved on the first request rather than when the API server imports plugins: the server
starts even if the connection is missing, and the page names the problem instead.

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
        try:
            app = self.app()
        except Exception as exc:  # noqa: BLE001 - shown to the user, who can fix the connection
            app = _error_app(exc)
        await app(scope, receive, send)


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
