"""The optional C extension ``dataver_native`` (the package in ``native/``), when usable.

It holds two functions: the folder walk of :mod:`dataver.scan` on several threads without
the GIL (``dataver_native.scan``), and the writer of a pack span's small files for a cold
get (``dataver_native.write_files``, :mod:`dataver.objects.fetch`). The Python code stays
the reference and the fallback: tests/native checks the two on the same inputs. ``pip
install dataver`` never installs the extension; see native/README.md for how to build it.

``DATAVER_NATIVE=0`` (or ``false``, ``no``, ``off``) makes dataver ignore an installed
extension, as if it were missing: CI runs the core suite that way too. The variable is
read when this module is first imported, since it picks the scanner for the process.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

API_VERSION = 2
"""The extension's interface this dataver uses: ``scan`` returns columns and reports
symbolic links. A build of another version (an older ``dataver-native`` left installed) is
not used."""

_OFF = frozenset({"0", "false", "no", "off"})


def disabled() -> bool:
    """Whether ``DATAVER_NATIVE`` turns the extension off."""
    return os.environ.get("DATAVER_NATIVE", "").strip().lower() in _OFF


def _load() -> ModuleType | None:
    if disabled():
        return None
    try:
        module = importlib.import_module("dataver_native")
    except ImportError:
        return None
    return module if getattr(module, "API_VERSION", None) == API_VERSION else None


MODULE: ModuleType | None = _load()
"""``dataver_native`` when it is installed, enabled and of :data:`API_VERSION`, else None."""


def function(name: str) -> Any:
    """``dataver_native.<name>``, or None when the extension is not usable (see :data:`MODULE`).

    Example:
        >>> function("no_such_function") is None
        True
    """
    return getattr(MODULE, name, None)
