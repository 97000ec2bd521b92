"""The current version: what ``dataver create`` made, for the commands that follow it.

Like ``clearml-data``, commands given no ``--id`` work on the version the last ``create``
(or ``sync``, ``squash``) of this machine made in the same registry. It is remembered per
registry URL in ``<DATAVER_CACHE_DIR>/cli-state.json``, written atomically under a file lock,
so two registries never share a current version and concurrent runs never corrupt the file.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FILE_NAME = "cli-state.json"
FORMAT = 1


def path() -> Path:
    """Where the state lives: ``<DATAVER_CACHE_DIR>/cli-state.json``."""
    from dataver.settings import get_settings

    return get_settings().cache_dir.expanduser() / FILE_NAME


def current(registry_url: str) -> str | None:
    """The current version id of ``registry_url``, or None."""
    entry = _read(path()).get(registry_url)
    found = entry.get("id") if isinstance(entry, dict) else None
    return found if isinstance(found, str) else None


def remember(registry_url: str, version_id: str) -> None:
    """Make ``version_id`` the current version of ``registry_url``."""
    now = datetime.now(timezone.utc).isoformat()

    def put(versions: dict[str, Any]) -> None:
        versions[registry_url] = {"id": version_id, "at": now}

    _update(put)


def forget(registry_url: str, version_id: str) -> None:
    """Forget ``version_id`` if it is the current version of ``registry_url`` (e.g. deleted)."""

    def drop(versions: dict[str, Any]) -> None:
        entry = versions.get(registry_url)
        if isinstance(entry, dict) and entry.get("id") == version_id:
            del versions[registry_url]

    _update(drop)


def _read(file: Path) -> dict[str, Any]:
    try:
        raw = json.loads(file.read_text())
    except (OSError, ValueError):
        return {}
    versions = raw.get("current") if isinstance(raw, dict) else None
    return versions if isinstance(versions, dict) else {}


def _update(change: Callable[[dict[str, Any]], None]) -> None:
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(file) + ".lock"):
        versions = _read(file)
        change(versions)
        tmp = file.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "current": versions}, indent=1) + "\n")
        os.replace(tmp, file)
