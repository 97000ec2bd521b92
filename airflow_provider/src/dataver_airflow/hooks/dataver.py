"""``DataverHook``: a dataver registry from an Airflow connection of type ``dataver``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

import dataver

# Connection extra keys passed through to the registry's storage options.
_STORAGE_KEYS = ("key", "secret", "token", "profile", "region", "endpoint_url", "addressing_style")


def _extra_value(extra: dict[str, Any], name: str) -> Any:
    """A form field: plain key, or the ``extra__dataver__`` prefixed one of older forms."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__dataver__{name}")
    return None if value == "" else value


class DataverHook(BaseHook):
    """Connects to a dataver registry.

    The connection's extra holds ``registry`` (the registry URL) and, for S3, optional storage
    options (``endpoint_url``, ``region``, ``profile``, ``addressing_style``, ...). The S3 access
    key id and secret come from the connection's login and password when set. ``ui_url`` is the
    base URL of the dataver web UI that the operators' extra link points to.

    Args:
        dataver_conn_id: The Airflow connection id.
    """

    conn_name_attr = "dataver_conn_id"
    default_conn_name = "dataver_default"
    conn_type = "dataver"
    hook_name = "Dataver"

    def __init__(self, dataver_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.dataver_conn_id = dataver_conn_id
        self._registry: dataver.Registry | None = None

    def registry_settings(self) -> tuple[str, dict[str, Any]]:
        """The registry URL and storage options the connection describes."""
        conn = self.get_connection(self.dataver_conn_id)
        extra = conn.extra_dejson
        url = _extra_value(extra, "registry") or conn.host
        if not url:
            raise ValueError(
                f"connection {self.dataver_conn_id!r} has no registry URL "
                '(set its extra to {"registry": "<url>"})'
            )
        options = {k: v for k in _STORAGE_KEYS if (v := _extra_value(extra, k)) is not None}
        if conn.login:
            options["key"] = conn.login
        if conn.password:
            options["secret"] = conn.password
        return str(url), options

    def ui_url(self) -> str | None:
        """The connection's ``ui_url`` extra: base URL of the dataver web UI, if set."""
        value = _extra_value(self.get_connection(self.dataver_conn_id).extra_dejson, "ui_url")
        return str(value) if value else None

    def get_registry(self) -> dataver.Registry:
        """The connection's :class:`dataver.Registry` (built once per hook).

        Close it when done (``with hook.get_registry() as registry:``, or :meth:`close`):
        it holds storage connections and the stat cache's database.
        """
        if self._registry is None:
            url, options = self.registry_settings()
            self._registry = dataver.Registry(url, storage_options=options or None)
        return self._registry

    def get_conn(self) -> dataver.Registry:
        return self.get_registry()

    def close(self) -> None:
        """Close the registry this hook opened; the next :meth:`get_registry` opens another."""
        if self._registry is not None:
            self._registry.close()
            self._registry = None

    def test_connection(self) -> tuple[bool, str]:
        """Check that the connection reaches a dataver registry that can be read.

        A location holding no registry marker (``dataver.json``) is not a registry: a typo'd
        path or bucket prefix, or a location nothing was versioned in yet. It fails, saying
        so (``dataver.Registry(url, must_exist=True)``), unless the connection's extra asks
        for ``"create": true``: then an empty registry is created there (the marker only; the
        first version would write it anyway).

        Returns:
            ``(True, message)`` or ``(False, what is wrong)``.
        """
        try:
            url, options = self.registry_settings()
            create = _is_true(
                _extra_value(self.get_connection(self.dataver_conn_id).extra_dejson, "create")
            )
            with dataver.Registry(
                url, storage_options=options or None, must_exist=not create
            ) as registry:
                return _check_registry(registry)
        except dataver.RegistryNotFoundError as exc:
            return False, (
                f"{exc}. Check the registry URL, or set the connection extra "
                '"create": true to create an empty registry there.'
            )
        except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
            return False, f"{type(exc).__name__}: {exc}"


def _check_registry(registry: dataver.Registry) -> tuple[bool, str]:
    """Read ``registry`` (creating its marker first when it has none: asked for)."""
    if registry.initialize():
        return True, f"Created an empty dataver registry at {registry.url}"
    count = len(registry.list(states=None))
    return True, f"Connected to {registry.url} ({count} version{'' if count == 1 else 's'})"


def _is_true(value: Any) -> bool:
    """An extra's boolean: ``true`` in JSON, or a string such as ``"true"``, ``"yes"``, ``"1"``."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return value is True
