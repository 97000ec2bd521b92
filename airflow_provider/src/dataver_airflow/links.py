"""``DataverVersionLink``: the task's button to its version's page in the dataver web UI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink, conf

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

# Where the dataver Airflow plugin mounts the web UI inside Airflow's API server.
UI_MOUNT = "dataver"


def default_ui_url() -> str:
    """``[api] base_url`` + ``/dataver``: the web UI as the dataver plugin serves it."""
    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return f"{base.rstrip('/')}/{UI_MOUNT}"


def version_page(ui_url: str, version_id: str) -> str:
    """The page of one version: ``<ui_url>/versions/<id>``.

    Example:
        >>> version_page("http://localhost:8080/dataver/", "0123abcd")
        'http://localhost:8080/dataver/versions/0123abcd'
    """
    return f"{ui_url.rstrip('/')}/versions/{quote(version_id, safe='')}"


class DataverVersionLink(BaseOperatorLink):
    """Extra link "Dataver version" on every dataver operator that acted on one version.

    The UI base URL is the ``ui_url`` extra of the operator's dataver connection, else
    ``[api] base_url`` + ``/dataver`` (where the dataver plugin mounts the UI). Airflow 3 works
    the link out in the worker when the task ends (and keeps it as an XCom), so the link points
    at the version this very try created or used, also when the task failed after creating it.
    """

    name = "Dataver version"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """``<ui_url>/versions/<id>``, or ``""`` (no link) when no version was reached."""
        del ti_key
        version_id: str | None = getattr(operator, "dataver_version_id", None)
        if not version_id:
            return ""
        return version_page(_ui_url(operator), version_id)


def _ui_url(operator: Any) -> str:
    from dataver_airflow.hooks.dataver import DataverHook

    conn_id = getattr(operator, "dataver_conn_id", DataverHook.default_conn_name)
    try:
        configured = DataverHook(dataver_conn_id=conn_id).ui_url()
    except Exception:  # noqa: BLE001 - a link must never fail the task; fall back
        configured = None
    return configured or default_ui_url()
