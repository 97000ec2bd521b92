"""A separate dataver process for the concurrency and crash tests (run with ``sys.executable``).

Usage: ``python _worker.py <command> <args...>``. Commands that race print ``ready`` once they
have read what they need, then block until the parent writes a line to their stdin, so the
parent releases every racer at once (a barrier without sleeps). Results go to stdout as one
JSON line; errors are reported, not raised, with their type and structured fields.
"""

from __future__ import annotations

import base64
import json
import pickle
import sys
import time

import dataver


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _barrier() -> None:
    _say("ready")
    sys.stdin.readline()


def _report(**values: object) -> None:
    _say(json.dumps(values))


def create(registry: str, name: str, folder: str) -> None:
    """Auto-version ``name``: create, add ``folder``, finalize; report id and version."""
    reg = dataver.Registry(registry)
    _barrier()
    ds = reg.create(name)
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    _report(id=ds.id, version=ds.version, state=ds.state.value)


def finalize(registry: str, version_id: str) -> None:
    """Load an Uploading version, wait for the go, finalize it; report the outcome."""
    ds = dataver.Registry(registry).get(version_id, states=None)
    _barrier()
    try:
        ds.finalize()
    except dataver.DataverError as exc:
        _report(outcome=type(exc).__name__, fields=exc.fields, message=str(exc))
        return
    _report(outcome="ok", state=ds.state.value)


def hold(registry: str, name: str, folder: str) -> None:
    """Create a version, add files, report it, then hang until killed (a dying writer)."""
    ds = dataver.Registry(registry).create(name)
    ds.add_files(folder)
    _report(id=ds.id, version=ds.version)
    while True:
        time.sleep(3600)


def get(registry: str, version_id: str) -> None:
    """Materialise a version; report its files and their bytes (hex)."""
    ds = dataver.Registry(registry).get(version_id)
    _barrier()
    root = ds.get_local_copy()
    files = {
        p.relative_to(root).as_posix(): p.read_bytes().hex()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    _report(root=str(root), files=files)


def error(registry: str, version_id: str) -> None:
    """Trigger a real InvalidTransitionError (publish an Uploading version); ship it pickled."""
    ds = dataver.Registry(registry).get(version_id, states=None)
    try:
        ds.publish()
    except dataver.DataverError as exc:
        _report(pickled=base64.b64encode(pickle.dumps(exc)).decode())
        return
    _report(pickled=None)


COMMANDS = {"create": create, "finalize": finalize, "hold": hold, "get": get, "error": error}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
